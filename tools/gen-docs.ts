// Writes the generated documentation pages (docs/hypercalls.md) from the tables in src/.
import { writeFileSync } from 'node:fs';
import { hypercallReference } from '../src/hyp/abi/doc.js';

writeFileSync(new URL('../../docs/hypercalls.md', import.meta.url), hypercallReference());
console.log('wrote docs/hypercalls.md');
