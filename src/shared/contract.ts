/**
 * The REST contract at compile time. `openapi.ts` is generated from the
 * OpenAPI description (jupyter_rpc/rest/openapi.yaml), which the server tests
 * check every real response against. Each feature's `api.ts` takes its wire
 * types from there: a re-export where the front end reads the shape as it is,
 * or a type derived from it where the front end reads a member more precisely
 * (a JSON Schema as `JSONSchema7`), checked with {@link Reads} in the
 * module's `...Contract` type. Its requests name a route of the description
 * ({@link APIPath}), expect that operation's answer ({@link Answer}) and send
 * its body and query ({@link BodyOf}, {@link QueryOf}). A server change that
 * alters a route, a body or an answer thus breaks `tsc` until the front end
 * follows.
 *
 * These are types only: no code is emitted.
 */
import type { IOperations } from './openapi';

/**
 * Compiles only when `T` is `true`: `Assert<Reads<A, B>>` fails on its line
 * with "Type 'false' does not satisfy the constraint 'true'".
 */
export type Assert<T extends true> = T;

/**
 * Whether `A` and `B` name the same members.
 */
export type SameKeys<A, B> = [keyof A] extends [keyof B]
  ? [keyof B] extends [keyof A]
    ? true
    : false
  : false;

/**
 * Whether the front end's type `Ours` reads every value of the description's
 * type `Wire` (each is one of `Ours`), and both name the same members (so a
 * member the server dropped, or one the front end invented, is caught too).
 */
export type Reads<Wire, Ours> = [Wire] extends [Ours]
  ? SameKeys<Wire, Ours>
  : false;

/**
 * Whether the two types accept the same values and name the same members
 * (for a type the front end derives but reads as the description says).
 */
export type Same<A, B> = [B] extends [A] ? Reads<A, B> : false;

/**
 * The name of an operation of the description (`getBackend`, ...).
 */
export type OperationId = keyof IOperations;

type Responses<K extends OperationId> = IOperations[K]['responses'];

/**
 * The body of a successful answer of an operation (`null`: none).
 */
export type Answer<K extends OperationId> = Responses<K>[Extract<
  keyof Responses<K>,
  200 | 201 | 204
>];

/**
 * The query parameters an operation takes.
 */
export type QueryOf<K extends OperationId> = IOperations[K] extends {
  query: infer Q;
}
  ? Q
  : never;

/**
 * The request body an operation takes.
 */
export type BodyOf<K extends OperationId> = IOperations[K] extends {
  body: infer B;
}
  ? B
  : never;

/**
 * One segment of a path template: a parameter (`{backend}`) is any string.
 */
type Segment<S extends string> = S extends `{${string}}` ? string : S;

/**
 * The segments of a path template after its leading `/`. The drive path
 * `{path}` of a cluster's files (`x-jupyter-rpc-greedy` in the description)
 * is any number of segments, the others one each.
 */
type Segments<S extends string> = S extends `${infer Head}/${infer Rest}`
  ? [Segment<Head>, ...Segments<Rest>]
  : S extends '{path}'
    ? string[]
    : S extends ''
      ? []
      : [Segment<S>];

/**
 * The path segments (below `{baseUrl}jupyter-rpc/`) of every route of the
 * description: `['backends', name, 'functions']`, `['clusters', name,
 * 'files', ...path]`.
 */
export type APIPath = {
  [K in OperationId]: IOperations[K]['path'] extends `/${infer Rest}`
    ? Segments<Rest>
    : never;
}[OperationId];
