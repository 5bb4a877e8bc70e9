import { Clipboard, Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { ICall, IFunctionSpec } from './api';
import { pythonSnippet } from './python';

/**
 * The "Copy as Python" code of a call.
 */
export function callSnippet(
  call: ICall,
  spec: IFunctionSpec | undefined
): string {
  return pythonSnippet({
    backend: call.backend,
    spec,
    functionName: call.function,
    arguments: call.arguments
  });
}

/**
 * Copy code to the system clipboard and say so.
 */
export function copyCode(code: string, trans: TranslationBundle): void {
  Clipboard.copyToSystem(code);
  Notification.success(trans.__('Python code copied to the clipboard.'), {
    autoClose: 2500
  });
}
