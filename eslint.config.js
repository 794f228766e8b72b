// Lint: typescript-eslint's recommended type-aware rules, our strict choices, and the layering
// rule of shared/design.md (imports flow down the layer list; another area only through its
// index.ts; `common` and `web` never import node:*).
import path from 'node:path';
import tseslint from 'typescript-eslint';

/** Layer order: an area may import areas of a lower rank, and the lower-listed peers of its rank. */
const LAYERS = [
  ['common'],
  ['host'],
  ['config', 'xenstore', 'qemu', 'storage', 'network'],
  ['devices'],
  ['domain', 'console', 'migration'],
  ['api'],
  ['daemon', 'cli', 'web'],
];
const order = LAYERS.flat();
const rankOf = (area) => LAYERS.findIndex((l) => l.includes(area));
/**
 * Areas that may import only the areas listed, whatever their rank. `cli` reaches dom0 through
 * `api`, and reads xl.cfg files with `config` itself (xl is its own cfg parser, as in Xen:
 * shared/design.md); `web` only through `api`.
 */
const ONLY = { cli: ['common', 'config', 'api'], web: ['common', 'api'] };

function allowed(from, to) {
  if (from === to) return true;
  if (ONLY[from]) return ONLY[from].includes(to);
  const rf = rankOf(from);
  const rt = rankOf(to);
  if (rf < 0 || rt < 0) return false;
  if (rt < rf) return true;
  return rt === rf && order.indexOf(to) < order.indexOf(from);
}

const srcRoot = path.resolve('src');
const layering = {
  meta: { type: 'problem', schema: [] },
  create(context) {
    const file = context.filename;
    if (!file.startsWith(srcRoot + path.sep)) return {};
    const fromArea = path.relative(srcRoot, file).split(path.sep)[0];
    function check(node, spec) {
      if (typeof spec !== 'string') return;
      if (spec.startsWith('node:')) {
        if (fromArea === 'common' || fromArea === 'web') {
          context.report({ node, message: `'${fromArea}' must not import '${spec}' (it stays runtime-free)` });
        }
        return;
      }
      if (!spec.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), spec);
      const rel = path.relative(srcRoot, target);
      if (rel.startsWith('..')) return;
      const parts = rel.split(path.sep);
      const toArea = parts[0];
      if (toArea === fromArea) return;
      if (!allowed(fromArea, toArea)) {
        context.report({ node, message: `layering: '${fromArea}' may not import '${toArea}' (see shared/design.md)` });
      } else if (!(parts.length === 2 && parts[1] === 'index.js')) {
        context.report({ node, message: `layering: import '${toArea}' through its index.ts, not '${spec}'` });
      }
    }
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { local: { rules: { layering } } },
    rules: {
      'local/layering': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports' }],
    },
  },
  {
    files: ['test/**/*.ts', '**/*.test.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/explicit-module-boundary-types': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
