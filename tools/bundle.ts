// Bundles the `gunyah` command into one file, dist/gunyah.mjs (the package's bin): Node then loads
// one module instead of about fifty, which is most of a short run's start-up time (issue 5: a guest's
// first instruction within 300 ms of `gunyah run --kernel`). Run after `tsc -p .`.

import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

await build({
  entryPoints: [path.join(root, 'dist', 'src', 'cli', 'main.js')],
  outfile: path.join(root, 'dist', 'gunyah.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies (commander) call require() for Node's own modules.
  banner: {
    js: "import { createRequire as gunyahRequire } from 'node:module'; const require = gunyahRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
