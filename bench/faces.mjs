// Face detectors side by side (issue #23): recall on every clip and photo of ../shared/data (sampled frames with
// a face found) and detection time per 720p frame, dlib HOG against MediaPipe BlazeFace, in one run.
//   node bench/faces.mjs [--frames 8] [--portraits 100]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { Detector, versions } = await import(path.join(root, 'lib', 'index.js'));
const shared = process.env.LAA_SHARED_DIR ?? path.resolve(root, '..', 'shared');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const frames = arg('--frames', 8), portraits = arg('--portraits', 100);

const list = (dir, exts) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => exts.some((e) => f.endsWith(e))).sort().map((f) => path.join(dir, f)) : []);
const sets = {
  'talking heads': list(path.join(shared, 'data/videos/real-talking-heads'), ['.mp4']),
  'dev-eval': [...list(path.join(shared, 'data/dev-eval/real'), ['.mp4']), ...list(path.join(shared, 'data/dev-eval/fake'), ['.mp4'])],
  'dev-eval-more': [...list(path.join(shared, 'data/dev-eval-more/real'), ['.mp4']), ...list(path.join(shared, 'data/dev-eval-more/fake'), ['.mp4'])],
  photos: list(path.join(shared, 'data/images'), ['.jpg']),
  portraits: ['face-research-lab-london', 'face-research-lab-canada', 'us-congress-portraits']
    .flatMap((d) => list(path.join(shared, 'data/train-real', d), ['.jpg']))
    .filter((_, i, a) => i % Math.max(1, Math.floor(a.length / portraits)) === 0)
    .slice(0, portraits),
};

const cpu = versions().cpu;
console.log(`faces: ${os.cpus()[0].model}, ${os.availableParallelism()} cores, AVX2 ${cpu.avx2}, AVX-512 ${cpu.avx512}; ${frames} frames per clip`);
const detectors = { hog: await Detector.create({ faceDetector: 'hog', threads: 2 }), blazeface: await Detector.create({ threads: 2 }) };
const recall = {};
for (const [set, files] of Object.entries(sets)) {
  for (const [name, d] of Object.entries(detectors)) {
    let found = 0, sampled = 0, ms = 0;
    for (const f of files) {
      const image = f.endsWith('.jpg');
      const r = await (image ? d.scoreImage(f) : d.scoreVideo(f, { frames })).catch((e) => ({ error: e }));
      const n = image ? 1 : frames;
      sampled += n;
      if (!r.error) {
        found += r.frames.filter((x) => !x.noFace).length;
        ms += r.timings.detectMs;
      }
    }
    recall[`${set}/${name}`] = { found, sampled, files: files.length, ms };
  }
  const h = recall[`${set}/hog`], b = recall[`${set}/blazeface`];
  console.log(`${set.padEnd(14)} ${String(h.files).padStart(4)} files  frames with a face: HOG ${h.found}/${h.sampled}  BlazeFace ${b.found}/${b.sampled}`);
}

// Time per 720p frame: the same 1280x720 photo detected 20 times by each, alternating.
const photo = path.join(shared, 'data/images/obama-720p.jpg');
const times = { hog: [], blazeface: [] };
for (let k = 0; k < 20; k++)
  for (const [name, d] of Object.entries(detectors)) times[name].push((await d.scoreImage(photo)).timings.detectMs);
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`detection per 720p frame (median of 20, 2 threads): HOG ${med(times.hog).toFixed(1)} ms, BlazeFace ${med(times.blazeface).toFixed(1)} ms (${(med(times.hog) / med(times.blazeface)).toFixed(2)}x)`);
for (const d of Object.values(detectors)) d.dispose();
