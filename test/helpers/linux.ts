// Where the tests find a real arm64 Linux kernel (Debian's cloud kernel, an arm64 `Image`): the
// GUNYAH_LINUX_IMAGE environment variable, or the newest tmp/linux/boot/vmlinuz-*-arm64, which
// `bash tools/get-linux.sh` (run by .ci/run) unpacks there.

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const LINUX_HINT =
  'set GUNYAH_LINUX_IMAGE to an arm64 Image, or run `bash tools/get-linux.sh` (Debian mirror needed) ' +
  'to unpack linux-image-*-cloud-arm64 into tmp/linux/';

/** The repository root (from test/helpers or dist/test/helpers). */
const ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
})();

export function findLinux(): string | null {
  const env = process.env.GUNYAH_LINUX_IMAGE;
  if (env) return existsSync(env) ? env : null;
  const dir = path.join(ROOT, 'tmp', 'linux', 'boot');
  if (!existsSync(dir)) return null;
  const f = readdirSync(dir)
    .filter((n) => /^vmlinuz-.*-arm64$/.test(n))
    .sort();
  return f.length ? path.join(dir, f[f.length - 1]!) : null;
}
