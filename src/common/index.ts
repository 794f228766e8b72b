export * from './errors.js';
export * from './paths.js';
export * from './json.js';
export * from './pause.js';
export * from './launch-env.js';
export * from './quiet-log.js';
export * from './clock.js';
export * from './build.js';
