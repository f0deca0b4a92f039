// Lint configuration: typescript-eslint's recommended rules, plus the layer rule of DESIGN.md §2
// (rm/ and vmm/ reach the hypervisor only through ABI constant modules).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'guests/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/arch/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/hyp/**', '**/rm/**', '**/vmm/**', '**/machine/**', '**/cli/**'],
              message: 'The CPU knows nothing of the board or of Gunyah (DESIGN.md §2).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/rm/**/*.ts', 'src/vmm/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/hyp/core/**', '**/hyp/mem/**', '**/hyp/ipc/**', '**/hyp/vm/**'],
              message: 'rm/ and vmm/ reach the hypervisor only through the hypercall ABI (DESIGN.md §2).',
            },
          ],
        },
      ],
    },
  },
);
