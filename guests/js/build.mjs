// node build.mjs <source.js> <world> <out.wasm> — run from this folder after `npm install`.
// The WIT is this folder's `wit/` with wippy's published packages in `wit/deps/` (copies of
// the repository's `wit/process` and `wit/runtime`). Features the guests do not use are left
// out, so the component imports only what wippy grants them.
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';

const [sourcePath, worldName, out] = process.argv.slice(2);
const { component } = await componentize({
  sourcePath,
  witPath: 'wit',
  worldName,
  disableFeatures: ['clocks', 'random', 'stdio', 'http', 'fetch-event'],
});
await writeFile(out, component);
console.log(`built ${out}: ${component.length} bytes`);
