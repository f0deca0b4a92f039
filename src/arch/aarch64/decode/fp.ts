// Placeholder: rows are added by the group's author.
import { group } from './table.js';

export const fp = group('fp', []);
