#!/usr/bin/env node
// Checks the layering of native/ and src/ (README "Layout"): every #include /
// import points to its own folder or to a layer below, and src/ has no import
// cycles. Prints each offence and exits 1 when there is one.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// What each layer may include besides itself; anything else is an arrow up (or sideways).
export const nativeLayers = {
  core: [],
  net: ['core'],
  weights: ['core', 'net'],
  model: ['core', 'net', 'weights'],
  media: ['core'],
  synthesis: ['core', 'media'],
  pipeline: ['core', 'net', 'weights', 'model', 'media', 'synthesis'],
  train: ['core', 'net', 'weights', 'model', 'media', 'synthesis'],
  node: ['core', 'net', 'weights', 'model', 'media', 'synthesis', 'pipeline', 'train'],
};
export const srcLayers = {
  binding: [],
  model: ['binding'],
  report: ['binding', 'model'],
  detect: ['binding', 'model', 'report'],
  data: ['binding', 'model', 'detect'],
  eval: ['binding', 'model', 'detect', 'report', 'data'],
  train: ['binding', 'model', 'detect', 'report', 'eval', 'data'],
  cli: ['binding', 'model', 'detect', 'report', 'eval', 'data', 'train'],
  '.': ['binding', 'model', 'detect', 'report', 'eval', 'data', 'train'],
};

function walk(dir, exts, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, exts, out);
    else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
  }
  return out;
}

export function checkNative(base = root) {
  const problems = [];
  for (const layer of Object.keys(nativeLayers)) {
    const dir = path.join(base, 'native', layer);
    if (!fs.existsSync(dir)) continue;
    for (const file of walk(dir, ['.cc', '.h'])) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^#include "([^"]+)"/gm)) {
        const target = m[1].split('/')[0];
        if (!m[1].includes('/')) { problems.push(`${path.relative(base, file)}: #include "${m[1]}" names no layer`); continue; }
        if (target !== layer && !nativeLayers[layer].includes(target)) {
          problems.push(`${path.relative(base, file)}: ${layer} includes ${m[1]} (${layer} may include ${nativeLayers[layer].join(', ') || 'only itself'})`);
        }
      }
    }
  }
  return problems;
}

export function checkSrc(base = root) {
  const problems = [];
  const srcDir = path.join(base, 'src');
  const files = walk(srcDir, ['.ts']);
  const graph = new Map();
  for (const file of files) {
    const rel = path.relative(srcDir, file);
    const layer = rel.includes(path.sep) ? rel.split(path.sep)[0] : '.';
    const deps = [];
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s+'(\.[^']+)'/g)) {
      let target = path.resolve(path.dirname(file), m[1]);
      target = fs.existsSync(target + '.ts') ? target + '.ts' : path.join(target, 'index.ts');
      deps.push(target);
      const trel = path.relative(srcDir, target);
      const tlayer = trel.includes(path.sep) ? trel.split(path.sep)[0] : '.';
      if (!(layer in srcLayers)) problems.push(`src/${rel}: folder ${layer} is not a layer`);
      else if (tlayer !== layer && !srcLayers[layer].includes(tlayer)) {
        problems.push(`src/${rel}: ${layer} imports src/${trel} (${layer} may import ${srcLayers[layer].join(', ') || 'only itself'})`);
      }
    }
    graph.set(file, deps);
  }
  // Cycles (within a layer too): depth-first search with colours.
  const colour = new Map();
  const stack = [];
  const visit = (f) => {
    colour.set(f, 1); stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (colour.get(d) === 1) {
        const cycle = stack.slice(stack.indexOf(d)).concat(d).map((x) => 'src/' + path.relative(srcDir, x));
        problems.push(`import cycle: ${cycle.join(' -> ')}`);
      } else if (!colour.has(d)) visit(d);
    }
    stack.pop(); colour.set(f, 2);
  };
  for (const f of graph.keys()) if (!colour.has(f)) visit(f);
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const which = process.argv[2];
  const problems = [...(which !== 'src' ? checkNative() : []), ...(which !== 'native' ? checkSrc() : [])];
  for (const p of problems) console.log(p);
  console.log(problems.length ? `${problems.length} layering problem(s)` : 'layout: no include or import runs up a layer, no cycles');
  process.exit(problems.length ? 1 : 0);
}
