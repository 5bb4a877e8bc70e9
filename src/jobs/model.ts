import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import { HISTORY_SORT } from './rows';
import type { IHistorySort, ISort } from './rows';

/**
 * The lists of the jobs panel: the scheduler's queue, or accounting's ended jobs.
 */
export type JobsView = 'queue' | 'history';

/**
 * What the jobs panel shows: the cluster, the selected job, the filter,
 * the sort order, which arrays are expanded, whether it is visible.
 */
export class JobsPanelModel {
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get cluster(): string {
    return this._cluster;
  }
  set cluster(value: string) {
    if (value !== this._cluster) {
      this._cluster = value;
      this._selected = '';
      this._expanded.clear();
      this._changed.emit();
    }
  }

  /** The selected job's id ('' for none). */
  get selected(): string {
    return this._selected;
  }
  set selected(value: string) {
    if (value !== this._selected) {
      this._selected = value;
      this._changed.emit();
    }
  }

  /** Show a job of a cluster (switching cluster if needed). */
  show(cluster: string, jobId: string, arrayId = ''): void {
    this._cluster = cluster;
    this._selected = jobId;
    if (arrayId) {
      this._expanded.add(arrayId);
    }
    this._changed.emit();
  }

  get filter(): string {
    return this._filter;
  }
  set filter(value: string) {
    if (value !== this._filter) {
      this._filter = value;
      this._changed.emit();
    }
  }

  get sort(): ISort {
    return this._sort;
  }
  set sort(value: ISort) {
    this._sort = value;
    this._changed.emit();
  }

  /** The order of the history (default: the latest end first). */
  get historySort(): IHistorySort {
    return this._historySort;
  }
  set historySort(value: IHistorySort) {
    this._historySort = value;
    this._changed.emit();
  }

  get allUsers(): boolean {
    return this._allUsers;
  }
  set allUsers(value: boolean) {
    if (value !== this._allUsers) {
      this._allUsers = value;
      this._changed.emit();
    }
  }

  /** Which list the panel shows: the current jobs or the ended ones. */
  get view(): JobsView {
    return this._view;
  }
  set view(value: JobsView) {
    if (value !== this._view) {
      this._view = value;
      this._changed.emit();
    }
  }

  /** How many days back the history goes. */
  get historyDays(): number {
    return this._historyDays;
  }
  set historyDays(value: number) {
    if (value !== this._historyDays && value > 0) {
      this._historyDays = value;
      this._changed.emit();
    }
  }

  isExpanded(arrayId: string): boolean {
    return this._expanded.has(arrayId);
  }

  toggleExpanded(arrayId: string): void {
    if (this._expanded.has(arrayId)) {
      this._expanded.delete(arrayId);
    } else {
      this._expanded.add(arrayId);
    }
    this._changed.emit();
  }

  /** Whether the panel is on screen (the output tail polls only then). */
  get visible(): boolean {
    return this._visible;
  }
  set visible(value: boolean) {
    if (value !== this._visible) {
      this._visible = value;
      this._changed.emit();
    }
  }

  private _cluster = '';
  private _selected = '';
  private _filter = '';
  private _sort: ISort = { key: 'id', ascending: false };
  private _historySort: IHistorySort = HISTORY_SORT;
  private _allUsers = false;
  private _expanded = new Set<string>();
  private _visible = false;
  private _view: JobsView = 'queue';
  private _historyDays = 7;
  private _changed = new Signal<this, void>(this);
}
