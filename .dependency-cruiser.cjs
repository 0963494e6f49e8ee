/**
 * The layers of src/, enforced by `npm run lint` (see README, "How it is built"). A folder imports
 * only folders below it; types count too, since a type import ties two modules as much as a value.
 *
 *   server.ts, cli.ts, app.ts        the process, the command line, the app's assembly
 *   commands/                        operator commands
 *   console/, background/            the operator page; work beside the requests
 *   gupy/, rubeus/                   Gupy's side and Rubeus's side: routes, clients, the outbound core
 *   ops/                             health, metrics, status report and verdict, alerts
 *   mapping/                         Gupy delivery → Rubeus records
 *   store/                           SQLite and its repositories
 *   vocabulary/ and the other root files (config, errors, credentials, logger, secrets, personal data,
 *                                    the HTTP exchange the API clients share)
 */
const LAYERS = [
  ['entry', '^src/(server|cli|app)\\.ts$'],
  ['commands', '^src/commands/'],
  ['console', '^src/console/'],
  ['background', '^src/background/'],
  ['gupy', '^src/gupy/'],
  ['rubeus', '^src/rubeus/'],
  ['ops', '^src/ops/'],
  ['mapping', '^src/mapping/'],
  ['store', '^src/store/'],
  ['vocabulary', '^src/vocabulary/']
]

/** What each layer may import besides itself and the bottom (vocabulary and root utilities). */
const MAY_IMPORT = {
  entry: ['commands', 'console', 'background', 'gupy', 'rubeus', 'ops', 'mapping', 'store'],
  commands: ['gupy', 'rubeus', 'ops', 'mapping', 'store'],
  console: ['ops', 'store'],
  background: ['gupy', 'rubeus', 'ops', 'mapping', 'store'],
  gupy: ['ops', 'mapping', 'store'],
  rubeus: ['ops', 'mapping', 'store'],
  ops: ['mapping', 'store'],
  mapping: ['store'],
  store: [],
  vocabulary: []
}

const path = (name) => LAYERS.find(([n]) => n === name)[1]
const ROOT_UTILITIES = '^src/(config|errors|credentials|logger|secrets-file|personal-data|http-exchange)\\.ts$'

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules of src/ import each other in no circle, types included.',
      from: { path: '^src/' },
      to: { circular: true }
    },
    ...LAYERS.map(([name]) => ({
      name: `layer-${name}`,
      severity: 'error',
      comment: `${name} imports only ${[...MAY_IMPORT[name], 'vocabulary', 'the root utilities'].join(', ')}.`,
      from: { path: path(name) },
      to: {
        path: '^src/',
        pathNot: [path(name), ...MAY_IMPORT[name].map(path), path('vocabulary'), ROOT_UTILITIES]
      }
    })),
    {
      name: 'vocabulary-imports-nothing',
      severity: 'error',
      comment: 'The shared vocabulary imports nothing from src/ but itself.',
      from: { path: '^src/vocabulary/' },
      to: { path: '^src/', pathNot: '^src/vocabulary/' }
    },
    {
      name: 'root-utilities-stay-low',
      severity: 'error',
      comment: 'The root utilities import only the vocabulary and each other.',
      from: { path: ROOT_UTILITIES },
      to: { path: '^src/', pathNot: [ROOT_UTILITIES, '^src/vocabulary/'] }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' }
  }
}
