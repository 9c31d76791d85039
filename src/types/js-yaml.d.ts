/** The part of js-yaml 4 that config/yaml-loader.ts uses (the package ships no typings). */
declare module 'js-yaml' {
  export interface Schema {
    readonly __schema: unique symbol
  }
  export const CORE_SCHEMA: Schema
  export function load(text: string, options?: {schema?: Schema; json?: boolean}): unknown
  const jsyaml: {CORE_SCHEMA: Schema; load: typeof load}
  export default jsyaml
}
