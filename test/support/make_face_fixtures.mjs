// Makes test/fixtures/faces/<name>-256.png + <name>-256.json once: the
// official-style 256×256 face crop (dlib HOG box grown 25 % per side, as
// images_crop.py does with RetinaFace boxes) and dlib's 68 landmarks
// predicted on that crop, in its pixel coordinates. Needs the built addon
// and /usr/bin/python3 with cv2 (for the crop). Run: node test/support/make_face_fixtures.mjs
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Detector, LaaNet } from '../../lib/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = process.env.LAA_SHARED_DIR ?? path.resolve(root, '../shared');
const out = path.join(root, 'test/fixtures/faces');
const faces = {
  obama: path.join(shared, 'data/images/obama-official-portrait.jpg'),
  biden: path.join(shared, 'data/images/biden-official-portrait.jpg'),
};

const net = await LaaNet.reference(undefined, { threads: 1 });
const detector = await Detector.create({ weights: net });
for (const [name, file] of Object.entries(faces)) {
  const r = await detector.scoreImage(file, { landmarks: true });
  const { x, y, width, height } = r.frames[0].box;
  const png = path.join(out, `${name}-256.png`);
  // expand_box: int(w·0.25) per side, clamped; resize to 256 (INTER_LINEAR); PNG.
  execFileSync('/usr/bin/python3', ['-c', `
import cv2, sys
img = cv2.imread(sys.argv[1])
x, y, w, h = map(int, sys.argv[2:6])
px, py = int(w * 0.25), int(h * 0.25)
H, W = img.shape[:2]
x0, x1 = max(0, x - px), min(W, x + w + px)
y0, y1 = max(0, y - py), min(H, y + h + py)
cv2.imwrite(sys.argv[6], cv2.resize(img[y0:y1, x0:x1], (256, 256), interpolation=cv2.INTER_LINEAR))
`, file, String(x), String(y), String(width), String(height), png]);
  const c = await detector.scoreImage(png, { landmarks: true, detectMaxSide: 256 });
  const lm = c.frames[0].landmarks;
  if (!lm || lm.length !== 68) throw new Error(`no landmarks on the ${name} crop`);
  writeFileSync(path.join(out, `${name}-256.json`), JSON.stringify({ source: path.basename(file), size: [256, 256], landmarks: lm }) + '\n');
  console.log(name, 'box', { x, y, width, height }, 'crop box', c.frames[0].box);
}
detector.dispose();
net.dispose();
