#!/usr/bin/env python3
"""Compares native/media crops with the official LAA-Net test-time preprocessing.

Re-states, in Python with cv2 and NumPy (the libraries the official code
uses), the steps of images_crop.py (box padding, crop, 256x256 resize),
SBIFaceForensic test mode (crop_by_margin 5, get_center_scale,
get_affine_transform, cv2.warpAffine) and final_transform (/255, normalise),
then compares them with what `ops_main --parity-dir DIR` wrote.

    /usr/bin/python3 native/tests/media/official_preprocess_check.py DIR

Needs python3-opencv and python3-numpy (Debian). Exit status 1 on a mismatch.
"""
import os
import sys

import cv2
import numpy as np

PADDING = 0.25
PIXEL_STD = 200


def official_crop(frame, box):
    x0, y0, x1, y1 = box
    height, width = frame.shape[:2]
    face_w, face_h = x1 - x0, y1 - y0
    f_c_x0 = max(0, x0 - int(face_w * PADDING))
    f_c_x1 = min(width, x1 + int(face_w * PADDING))
    f_c_y0 = max(0, y0 - int(face_h * PADDING))
    f_c_y1 = min(height, y1 + int(face_h * PADDING))
    crop = frame[f_c_y0:f_c_y1, f_c_x0:f_c_x1, :]
    return cv2.resize(crop, (256, 256), interpolation=cv2.INTER_LINEAR)


def center_scale(shape, aspect_ratio=1.0):
    h, w = shape[0], shape[1]
    center = np.zeros((2), dtype=np.float32)
    center[0] = (shape[1] - 1) / 2
    center[1] = (shape[0] - 1) / 2
    if w > h * aspect_ratio:
        h = w * 1.0 / aspect_ratio
    else:
        w = h * 1.0 / aspect_ratio
    return center, np.array([w * 1.0 / PIXEL_STD, h * 1.0 / PIXEL_STD], dtype=np.float32)


def third_point(a, b):
    d = a - b
    return b + np.array([-d[1], d[0]], dtype=np.float32)


def affine(center, scale, out_size):
    # get_affine_transform with rot = 0 and shift = 0 (the test path).
    scale_tmp = scale * PIXEL_STD
    src_w = scale_tmp[0]
    dst_w, dst_h = out_size
    src_dir = [0, (src_w - 1) * -0.5]  # get_dir at angle 0
    dst_dir = np.array([0, (dst_w - 1) * -0.5], np.float32)
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0, :] = center
    src[1, :] = center + src_dir
    dst[0, :] = [(dst_w - 1) * 0.5, (dst_h - 1) * 0.5]
    dst[1, :] = np.array([(dst_w - 1) * 0.5, (dst_h - 1) * 0.5]) + dst_dir
    src[2:, :] = third_point(src[0, :], src[1, :])
    dst[2:, :] = third_point(dst[0, :], dst[1, :])
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def warp(img, size):
    c, s = center_scale(img.shape[:2])
    return cv2.warpAffine(img, affine(c, s, (size, size)), (size, size), flags=cv2.INTER_LINEAR)


def official_input(crop256_rgb):
    h, w = crop256_rgb.shape[:2]
    img = crop256_rgb[5:h - 5, 5:w - 5, :]
    x = warp(img, 384) / 255
    x = (x - 0.5) / 0.5  # Normalize(mean 0.5, std 0.5) in float64
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def main(d):
    failures = 0

    def report(ok, what):
        nonlocal failures
        failures += not ok
        print(f"  [{'ok' if ok else 'FAIL'}] {what}")

    with open(os.path.join(d, "cases.txt")) as f:
        cases = [line.split() for line in f if line.strip()]
    for case_id, frame_name, *box in cases:
        frame = cv2.imread(os.path.join(d, frame_name), cv2.IMREAD_COLOR)
        ref_crop = official_crop(frame, [int(v) for v in box])
        ours_crop = cv2.imread(os.path.join(d, f"{case_id}_crop256.png"), cv2.IMREAD_COLOR)
        report(np.array_equal(ref_crop, ours_crop), f"{case_id}: 256x256 crop identical")
        # The official reads the PNG back as RGB (PIL).
        ref_x = official_input(cv2.cvtColor(ref_crop, cv2.COLOR_BGR2RGB))
        ours_x = np.fromfile(os.path.join(d, f"{case_id}_input_f64.bin"), dtype=np.float64).reshape(3, 384, 384)
        diff = np.abs(ref_x - ours_x).max()
        report(diff == 0.0, f"{case_id}: float64 network input identical (max |diff| {diff:g})")
    for name in sorted(os.listdir(d)):
        if name.startswith("warp_") and name.endswith("_warp384.png"):
            stem = name[: -len("_warp384.png")]
            img = cv2.imread(os.path.join(d, stem + ".png"), cv2.IMREAD_COLOR)
            for size in (384, 96):
                ours = cv2.imread(os.path.join(d, f"{stem}_warp{size}.png"), cv2.IMREAD_COLOR)
                report(np.array_equal(warp(img, size), ours), f"{stem}: letter-boxed warp to {size} identical")
    print(f"{len(cases) * 2 + 4 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
