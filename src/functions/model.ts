import type { ErrorSchema } from '@rjsf/utils';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import type { ICall } from './api';

/**
 * The UI state of one function's form (kept while switching functions).
 */
export interface IDraft {
  /** Current form data. */
  formData: Record<string, unknown>;
  /** Whether the user submitted once (turns on live validation). */
  submitted: boolean;
  /** Errors the server found in the arguments, by field (rjsf `extraErrors`). */
  extraErrors: ErrorSchema | null;
  /** Messages to list above the form (validation summary). */
  problems: ReadonlyArray<string>;
  /**
   * The stable codes of the problems, for the notice's details line
   * (`request.schema`, or the schema keywords the form checked).
   */
  problemCode: string | null;
  /** An error of the last request (start or cancel), if any. */
  requestError: Error | null;
  /** The call is being started (the POST has not answered yet). */
  starting: boolean;
  /** The call shown below the form. */
  callId: string | null;
  /** Bumped to make the form re-read `formData` (e.g. after a restore). */
  revision: number;
}

/**
 * User settings the panel reads.
 */
export interface IPanelSettings {
  /** Seconds sent as the call `timeout` (0: the server's default). */
  defaultTimeout: number;
  /** Ask before cancelling a running call. */
  confirmCancel: boolean;
}

/**
 * A function of a backend.
 */
export interface ISelection {
  backend: string;
  name: string;
}

/**
 * State of the "Remote functions" panel shared by its sections.
 */
export class FunctionsPanelModel {
  /**
   * Emitted when any of the panel state changes.
   */
  get stateChanged(): ISignal<FunctionsPanelModel, void> {
    return this._stateChanged;
  }

  /**
   * The function shown in the call section.
   */
  get selection(): ISelection | null {
    return this._selection;
  }

  /**
   * The filter the function list applies to `name summary`.
   */
  get filter(): (text: string) => boolean {
    return this._filter;
  }

  /**
   * The filter's query text.
   */
  get query(): string {
    return this._query;
  }

  /**
   * Panel settings.
   */
  get settings(): IPanelSettings {
    return this._settings;
  }
  set settings(value: IPanelSettings) {
    this._settings = value;
    this._stateChanged.emit();
  }

  /**
   * Inserts code below the active cell of the current notebook, if there is one.
   */
  get insertCode(): ((code: string) => void) | null {
    return this._insertCode;
  }
  set insertCode(value: ((code: string) => void) | null) {
    this._insertCode = value;
    this._stateChanged.emit();
  }

  /**
   * Opens a call in a main-area tab (`activate`: show it; default true);
   * `null` without the results plugin.
   */
  get openResult(): ((callId: string, activate?: boolean) => void) | null {
    return this._openResult;
  }
  set openResult(value: ((callId: string, activate?: boolean) => void) | null) {
    this._openResult = value;
    this._stateChanged.emit();
  }

  /**
   * Note a call started from the form: its result may open in the main area
   * by itself (once).
   */
  markStarted(callId: string): void {
    this._started.add(callId);
  }

  /**
   * Whether `callId` was started from the form and not yet opened by itself
   * (forgets it: a result opens by itself once).
   */
  takeStarted(callId: string): boolean {
    return this._started.delete(callId);
  }

  /**
   * Set the function filter.
   */
  setFilter(query: string, filter: (text: string) => boolean): void {
    this._query = query;
    this._filter = filter;
    this._stateChanged.emit();
  }

  /**
   * Show a function in the call section.
   */
  select(selection: ISelection | null): void {
    this._selection = selection;
    this._stateChanged.emit();
  }

  /**
   * The draft of a function (a fresh one if none).
   */
  draft(selection: ISelection): IDraft {
    return this._drafts.get(Private.key(selection)) ?? Private.EMPTY;
  }

  /**
   * Update the draft of a function.
   */
  updateDraft(selection: ISelection, update: Partial<IDraft>): void {
    const key = Private.key(selection);
    const draft = this._drafts.get(key) ?? Private.EMPTY;
    this._drafts.set(key, { ...draft, ...update });
    this._stateChanged.emit();
  }

  /**
   * Show a past call: select its function, restore its arguments and result.
   */
  restore(call: ICall, formData: Record<string, unknown>): void {
    const selection = { backend: call.backend, name: call.function };
    const draft = this.draft(selection);
    this._drafts.set(Private.key(selection), {
      ...draft,
      formData,
      extraErrors: null,
      problems: [],
      problemCode: null,
      requestError: null,
      callId: call.id,
      revision: draft.revision + 1
    });
    this.select(selection);
  }

  private _selection: ISelection | null = null;
  private _query = '';
  private _filter: (text: string) => boolean = () => true;
  private _settings: IPanelSettings = {
    defaultTimeout: 0,
    confirmCancel: false
  };
  private _insertCode: ((code: string) => void) | null = null;
  private _openResult: ((callId: string, activate?: boolean) => void) | null =
    null;
  private _started = new Set<string>();
  private _drafts = new Map<string, IDraft>();
  private _stateChanged = new Signal<FunctionsPanelModel, void>(this);
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  export const EMPTY: IDraft = {
    formData: {},
    submitted: false,
    extraErrors: null,
    problems: [],
    problemCode: null,
    requestError: null,
    starting: false,
    callId: null,
    revision: 0
  };

  export function key(selection: ISelection): string {
    return `${selection.backend}\u0000${selection.name}`;
  }
}
