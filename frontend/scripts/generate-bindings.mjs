// Generates the Candid bindings the app uses from ../candid/*.did (themselves generated from the
// Rust code) with @icp-sdk/bindgen's CLI, like tests/js/generate-bindings.mjs.
// Output: src/bindings/<canister>.did.js (idlFactory, init) and <canister>.did.d.ts (types,
// _SERVICE). Run by `npm run generate`, `build`, `test` and `check`; src/bindings/ is gitignored.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const candidDir = join(root, '..', 'candid');
const outDir = join(root, 'src', 'bindings');
const bindgen = join(root, 'node_modules', '.bin', 'icp-bindgen');
const canisters = ['staking_hub', 'user_profile', 'learning_content', 'icrc_ledger', 'sns_governance'];

if (!existsSync(bindgen)) throw new Error(`${bindgen} is missing: run npm ci in frontend/`);
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
for (const name of canisters) {
  execFileSync(
    bindgen,
    [
      '--did-file', join(candidDir, `${name}.did`),
      '--out-dir', outDir,
      // Declarations only (idlFactory + .d.ts); the app builds actors with Actor.createActor.
      '--actor-disabled',
      '--declarations-flat',
      '--force',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}
const made = readdirSync(outDir).sort();
for (const name of canisters) {
  for (const ext of ['.did.js', '.did.d.ts']) {
    if (!made.includes(`${name}${ext}`)) {
      throw new Error(`icp-bindgen did not write ${name}${ext} (got: ${made.join(', ')})`);
    }
  }
}
console.log(`generated ${made.length} files in ${outDir}`);
