// Types of the ESM entry (esm/index.mjs re-exports the CommonJS build, so its types are those of lib/).
export * from '../lib/index.js';
