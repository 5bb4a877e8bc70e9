/**
 * The one call of react-dom/server the specs use (the package ships no types
 * and @types/react-dom is not a dependency).
 */
declare module 'react-dom/server' {
  import type { ReactElement } from 'react';
  export function renderToStaticMarkup(element: ReactElement): string;
}
