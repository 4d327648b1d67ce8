import { binding, type NativeVersions } from './native';

export type Versions = NativeVersions & { node: string; laaNative: string };

/** Versions of the libraries the addon runs on, and what the machine offers. */
export function versions(): Versions {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require('../../package.json') as { version: string };
  return { ...binding().versions(), node: process.versions.node, laaNative: pkg.version };
}
