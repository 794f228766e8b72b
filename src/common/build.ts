declare const __DOM0_BUILD__: string | undefined;

/**
 * This build of dom0: a hash of its sources, written in by scripts/build.mjs (`dev` when run
 * unbuilt). dom0d names its build in every API reply (`X-Dom0-Build`), so that an xl of another
 * build (dom0 upgraded, dom0d not restarted) can say why a request it makes is not understood.
 */
export const DOM0_BUILD: string = typeof __DOM0_BUILD__ === 'string' ? __DOM0_BUILD__ : 'dev';
