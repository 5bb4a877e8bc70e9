/**
 * A function's argument schema: read it (`resolve`), make it a form
 * (`form`), and go between the form's data and the call's arguments
 * (`arguments`).
 */
export * from './arguments';
export * from './form';
export * from './resolve';
