// Prints the config reference generated from the schema; with --write, replaces
// the block between the config-reference markers in README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference, embedReference } from '../core/src/config/reference';

const reference = configReference();
if (process.argv.includes('--write')) {
  writeFileSync('README.md', embedReference(readFileSync('README.md', 'utf8'), reference));
  console.log('README.md: config reference updated');
} else {
  console.log(reference);
}
