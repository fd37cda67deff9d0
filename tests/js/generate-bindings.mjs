// Generates the JavaScript Candid bindings of the platform canisters from candid/*.did
// (the .did files are themselves generated from the Rust code) with @icp-sdk/bindgen's CLI.
// Output: generated/<canister>.did.js (idlFactory, init) and generated/<canister>.did.d.ts.
// Run by `npm run generate`, and before every test run (`pretest`), so the bindings always
// match the committed interfaces; generated/ is not committed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const candidDir = join(here, '..', '..', 'candid');
const outDir = join(here, 'generated');
const bindgen = join(here, 'node_modules', '.bin', 'icp-bindgen');
const canisters = ['staking_hub', 'user_profile', 'learning_content', 'icrc_ledger'];

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
for (const name of canisters) {
  execFileSync(
    bindgen,
    [
      '--did-file', join(candidDir, `${name}.did`),
      '--out-dir', outDir,
      // Only the declarations (plain JS idlFactory + .d.ts): the actor wrapper is TypeScript,
      // which Node 20 cannot run; the tests build actors with Actor.createActor.
      '--actor-disabled',
      '--declarations-flat',
      '--force',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}
const made = readdirSync(outDir).sort();
for (const name of canisters) {
  if (!made.includes(`${name}.did.js`)) {
    throw new Error(`icp-bindgen did not write ${name}.did.js (got: ${made.join(', ')})`);
  }
}
console.log(`generated ${made.length} files in ${outDir}`);
