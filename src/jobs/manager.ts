import { Poll } from '@lumino/polling';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import { DisposableDelegate } from '@lumino/disposable';
import type { IDisposable } from '@lumino/disposable';
import type { ICluster } from '../clusters/api';
import type { IClustersManager } from '../clusters/tokens';
import {
  cancelJob,
  getJob,
  history,
  holdJob,
  listJobs,
  readOutput,
  releaseJob,
  resubmitJob,
  submitJob,
  submitSchema,
  testJob
} from './api';
import { isActive } from './states';
import type {
  IJobInfo,
  IJobSpec,
  IOutputChunk,
  IReadOutputOptions,
  ISubmitSchema,
  ITestResult
} from './api';
import { endedJobs } from './ends';
import type { IJobEnd } from './ends';

/**
 * Loading state of a jobs list.
 */
export type JobsStatus = 'idle' | 'loading' | 'ready' | 'error';

/**
 * How many vanished jobs are looked up after one poll (the rest next time).
 */
const MAX_LOOKUPS = 10;

/**
 * The jobs of one cluster, fetched by ONE poll that serves every open view.
 *
 * The poll stands by while the page is hidden, and while no view is open
 * and none of the user's jobs is active; it backs off after errors.
 */
export class JobsManager implements IDisposable {
  constructor(options: JobsManager.IOptions) {
    this.cluster = options.cluster;
    this._clusters = options.clusters;
    this._poll = new Poll({
      auto: false,
      factory: () => this._fetch(),
      frequency: {
        interval: options.interval ?? 15000,
        backoff: true,
        max: 300 * 1000
      },
      name: `jupyter-rpc:jobs:${options.cluster}`,
      standby: () => (this._isIdle() ? true : 'when-hidden')
    });
  }

  /** The cluster's name. */
  readonly cluster: string;

  /** The cluster as the clusters list describes it (its kind and scheduler). */
  get clusterInfo(): ICluster | undefined {
    return this._clusters.get(this.cluster);
  }

  /** The jobs as last fetched (everyone's when a view asked for all users). */
  get jobs(): ReadonlyArray<IJobInfo> {
    return this._jobs;
  }

  /** The user the server lists jobs for. */
  get user(): string {
    return this._user;
  }

  /** When the scheduler was asked (epoch seconds), 0 before the first answer. */
  get fetched(): number {
    return this._fetched;
  }

  /** Whether the last list includes other users' jobs. */
  get includesAllUsers(): boolean {
    return this._listedAllUsers;
  }

  get status(): JobsStatus {
    return this._status;
  }

  /** Why the last fetch failed. */
  get error(): Error | null {
    return this._error;
  }

  /** Emitted when the list, status or error changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted when some of the user's jobs left an active state. */
  get ended(): ISignal<this, IJobEnd[]> {
    return this._ended;
  }

  /** The poll interval in milliseconds. */
  get interval(): number {
    return this._poll.frequency.interval;
  }
  set interval(value: number) {
    const interval = Math.max(2000, value);
    if (interval !== this._poll.frequency.interval) {
      this._poll.frequency = { ...this._poll.frequency, interval };
    }
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** A job as last fetched. */
  job(id: string): IJobInfo | undefined {
    return this._jobs.find(j => j.id === id);
  }

  /**
   * A view shows this cluster's jobs: start polling (the returned disposable
   * says it closed). `allUsers` lists everyone's jobs while any view wants it.
   */
  attach(): JobsManager.IView {
    const view = { allUsers: false };
    this._views.add(view);
    const disposable = new DisposableDelegate(() => {
      this._views.delete(view);
      void this._poll.refresh();
    });
    const handle: JobsManager.IView = Object.assign(disposable, {
      setAllUsers: (on: boolean): void => {
        if (view.allUsers !== on) {
          view.allUsers = on;
          void this.refresh();
        }
      }
    });
    if (this._poll.state.phase === 'constructed') {
      void this._poll.start();
    } else {
      void this._poll.refresh();
    }
    return handle;
  }

  /** Fetch now; resolves after the answer. */
  async refresh(): Promise<void> {
    if (this._poll.state.phase === 'constructed') {
      void this._poll.start();
    } else {
      await this._poll.refresh();
    }
    await this._poll.tick.catch(() => undefined);
    // The tick starts the request; wait for it.
    await this._inflight?.catch(() => undefined);
  }

  /** Submit a job; it is in `jobs` at once. */
  async submit(spec: IJobSpec): Promise<IJobInfo> {
    const job = await this._call(() =>
      submitJob(this.cluster, spec, this._settings)
    );
    this._upsert(job);
    void this._poll.refresh();
    return job;
  }

  /** When would this job start? */
  test(spec: IJobSpec): Promise<ITestResult> {
    return this._call(() => testJob(this.cluster, spec, this._settings));
  }

  /** The submit form of this cluster. */
  submitSchema(): Promise<ISubmitSchema> {
    return this._call(() => submitSchema(this.cluster, this._settings));
  }

  /** The detail of one job (updates the list). */
  async getJob(id: string): Promise<IJobInfo> {
    const job = await this._call(() =>
      getJob(this.cluster, id, this._settings)
    );
    this._upsert(job);
    return job;
  }

  cancel(id: string): Promise<IJobInfo> {
    return this._action(() => cancelJob(this.cluster, id, this._settings));
  }

  hold(id: string): Promise<IJobInfo> {
    return this._action(() => holdJob(this.cluster, id, this._settings));
  }

  release(id: string): Promise<IJobInfo> {
    return this._action(() => releaseJob(this.cluster, id, this._settings));
  }

  /** Submit the same script and resources again; the new job. */
  resubmit(id: string): Promise<IJobInfo> {
    return this._action(() => resubmitJob(this.cluster, id, this._settings));
  }

  /** The user's jobs of the last `days` days, from accounting (not cached). */
  history(days: number): Promise<IJobInfo[]> {
    return this._call(() => history(this.cluster, days, this._settings));
  }

  /** Read a piece of a job's output. */
  readOutput(id: string, options: IReadOutputOptions): Promise<IOutputChunk> {
    return this._call(() =>
      readOutput(this.cluster, id, options, this._settings)
    );
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    Signal.clearData(this);
  }

  private get _settings() {
    return this._clusters.serverSettings;
  }

  private _call<T>(fn: () => Promise<T>): Promise<T> {
    return this._clusters.withConnection(this.cluster, fn);
  }

  private async _action(fn: () => Promise<IJobInfo>): Promise<IJobInfo> {
    const job = await this._call(fn);
    this._upsert(job);
    void this._poll.refresh();
    return job;
  }

  private _isIdle(): boolean {
    if (this._views.size > 0) {
      return false;
    }
    // Keep watching the user's active jobs, to say when they end.
    return !this._jobs.some(
      j => isActive(j.state) && (!this._user || j.user === this._user)
    );
  }

  private _fetch(): Promise<void> {
    const promise = this._doFetch();
    this._inflight = promise;
    return promise;
  }

  private async _doFetch(): Promise<void> {
    const allUsers = [...this._views].some(v => v.allUsers);
    if (this._status !== 'ready') {
      this._status = 'loading';
      this._changed.emit();
    }
    let list;
    try {
      list = await this._call(() =>
        listJobs(this.cluster, allUsers, this._settings)
      );
    } catch (reason) {
      if (this.isDisposed) {
        return;
      }
      this._status = 'error';
      this._error = reason instanceof Error ? reason : new Error(`${reason}`);
      this._changed.emit();
      throw reason; // the poll backs off
    }
    if (this.isDisposed) {
      return;
    }
    const before = this._jobs;
    const first = this._fetched === 0;
    this._jobs = list.jobs;
    this._user = list.user;
    this._fetched = list.fetched ?? Date.now() / 1000;
    this._listedAllUsers = allUsers;
    this._status = 'ready';
    this._error = null;
    this._changed.emit();
    if (first) {
      return;
    }
    const { ended, missing } = endedJobs(before, list.jobs, list.user || null);
    for (const old of missing.slice(0, MAX_LOOKUPS)) {
      try {
        const job = await getJob(this.cluster, old.id, this._settings);
        if (!isActive(job.state)) {
          ended.push({ job, previous: old.state });
        }
      } catch {
        // Unknown now (purged): nothing to say.
      }
    }
    if (ended.length && !this.isDisposed) {
      this._ended.emit(ended);
    }
  }

  private _upsert(job: IJobInfo): void {
    if (this.isDisposed) {
      return;
    }
    const index = this._jobs.findIndex(j => j.id === job.id);
    this._jobs =
      index < 0
        ? [job, ...this._jobs]
        : this._jobs.map((j, i) => (i === index ? job : j));
    this._changed.emit();
  }

  private _clusters: IClustersManager;
  private _poll: Poll;
  private _jobs: IJobInfo[] = [];
  private _user = '';
  private _fetched = 0;
  private _listedAllUsers = false;
  private _status: JobsStatus = 'idle';
  private _error: Error | null = null;
  private _views = new Set<{ allUsers: boolean }>();
  private _inflight: Promise<void> | null = null;
  private _changed = new Signal<this, void>(this);
  private _ended = new Signal<this, IJobEnd[]>(this);
}

/**
 * The namespace for `JobsManager` statics.
 */
export namespace JobsManager {
  export interface IOptions {
    cluster: string;
    clusters: IClustersManager;
    /** Poll interval in milliseconds (default 15 s). */
    interval?: number;
  }

  /**
   * An open view of a cluster's jobs.
   */
  export interface IView extends IDisposable {
    /** List everyone's jobs while this view wants it. */
    setAllUsers(on: boolean): void;
  }
}

/**
 * One {@link JobsManager} per cluster, created on first use.
 */
export class JobsRegistry implements IDisposable {
  constructor(clusters: IClustersManager) {
    this._clusters = clusters;
  }

  /** Emitted when some of the user's jobs on a cluster ended. */
  get ended(): ISignal<this, { cluster: string; ends: IJobEnd[] }> {
    return this._ended;
  }

  /** Poll interval in milliseconds, for every cluster. */
  get interval(): number {
    return this._interval;
  }
  set interval(value: number) {
    this._interval = value;
    for (const m of this._managers.values()) {
      m.interval = value;
    }
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The manager of a cluster. */
  get(cluster: string): JobsManager {
    let manager = this._managers.get(cluster);
    if (!manager) {
      manager = new JobsManager({
        cluster,
        clusters: this._clusters,
        interval: this._interval
      });
      manager.ended.connect((_, ends) => this._ended.emit({ cluster, ends }));
      this._managers.set(cluster, manager);
    }
    return manager;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    for (const m of this._managers.values()) {
      m.dispose();
    }
    this._managers.clear();
    Signal.clearData(this);
  }

  private _clusters: IClustersManager;
  private _managers = new Map<string, JobsManager>();
  private _interval = 15000;
  private _ended = new Signal<this, { cluster: string; ends: IJobEnd[] }>(this);
  private _isDisposed = false;
}
