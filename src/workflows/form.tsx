/**
 * The run form of a workflow template: the cluster, the template's inputs
 * (the functions panel's form: every kind of value, paths on a cluster with
 * Browse…), the container image when the template lists some, the resources
 * with the site's overrides, live messages at their fields, and "Where should
 * it run?" ranking the clusters the template fits for the whole run. Run
 * submits every step at once; a value the server refuses is said at its
 * field and the dialog shows again.
 */
import { Dialog, ReactWidget, showDialog } from '@jupyterlab/apputils';
import type { ServerConnection } from '@jupyterlab/services';
import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import type { ReadonlyJSONObject } from '@lumino/coreutils';
import { getDefaultFormState } from '@rjsf/utils';
import type { ErrorSchema, RJSFSchema } from '@rjsf/utils';
import type { JSONSchema7 } from 'json-schema';
import React, { useEffect, useMemo, useState } from 'react';
import { ClusterSelect } from '../clusters/ClusterSelect';
import type { IClustersManager } from '../clusters/tokens';
import { CallForm } from '../functions/CallForm';
import { humanMessage } from '../functions/messages';
import type { IRemotePathContext } from '../functions/RemotePathWidget';
import { prepareSchema } from '../functions/schema';
import { PlacementView } from '../jobs/placement';
import type { IPlacementRanking } from '../jobs/placement';
import { errorText, RPCRequestError } from '../shared/errors';
import { validator } from '../shared/validator';
import type { IWorkflowDetail, IWorkflowRun } from './api';
import { getWorkflow, placeRunJob, runWorkflow } from './api';
import {
  fitsCluster,
  jobCount,
  keepTitles,
  problemsByField,
  runUiSchema,
  stepJobSpec,
  stepsLine,
  wholeRunRanking
} from './model';

/**
 * The template as a cluster gives it (its form has that cluster's overrides).
 */
type ILoadedDetail = IWorkflowDetail & { cluster: string };

/**
 * What the dialog holds, kept across showing it again.
 */
interface IRunFormState {
  cluster: string;
  /** The template as the chosen cluster gives it (with its form). */
  detail: ILoadedDetail | null;
  values: Record<string, unknown>;
  /** Problems without a field, shown above the form. */
  problems: string[];
  /** Messages at their fields (a field's name → its messages). */
  fieldErrors: Record<string, string[]>;
}

/**
 * Options of {@link runWorkflowFlow}.
 */
export interface IRunFormOptions {
  clusters: IClustersManager;
  translator: ITranslator;
  settings: ServerConnection.ISettings;
  /** Path fields browse the clusters with it (without: text only). */
  remotePaths: IRemotePathContext | null;
  /** The cluster the template was picked on. */
  cluster: string;
  /** The template's name. */
  workflow: string;
  /** Run again: the run's form and values. */
  preset?: { form: JSONSchema7; values: Record<string, unknown> };
}

/**
 * The dialog's body.
 */
class RunFormBody
  extends ReactWidget
  implements Dialog.IBodyWidget<IRunFormState>
{
  constructor(
    private _options: IRunFormOptions & {
      state: IRunFormState;
      trans: TranslationBundle;
    }
  ) {
    super();
    this.addClass('jp-rpc-RunWorkflow');
    this._state = { ..._options.state };
  }

  getValue(): IRunFormState {
    return this._state;
  }

  render(): JSX.Element {
    return (
      <RunForm
        {...this._options}
        initial={this._state}
        onChange={state => {
          this._state = state;
        }}
      />
    );
  }

  private _state: IRunFormState;
}

function RunForm(
  props: IRunFormOptions & {
    trans: TranslationBundle;
    initial: IRunFormState;
    onChange: (state: IRunFormState) => void;
  }
): JSX.Element {
  const { clusters, translator, trans, settings, workflow } = props;
  const [cluster, setCluster] = useState(props.initial.cluster);
  const [detail, setDetail] = useState(props.initial.detail);
  const [values, setValues] = useState(props.initial.values);
  const [loadError, setLoadError] = useState('');
  const [ranking, setRanking] = useState<IPlacementRanking | null>(null);
  const [placing, setPlacing] = useState(false);
  const [placeStatus, setPlaceStatus] = useState('');

  useEffect(() => {
    props.onChange({
      ...props.initial,
      cluster,
      detail,
      values
    });
  }, [cluster, detail, values]);

  // The template's form on the chosen cluster (its overrides are the
  // cluster's): asked again when the cluster changes.
  useEffect(() => {
    if (!cluster || (detail && detail.cluster === cluster)) {
      return;
    }
    let live = true;
    setLoadError('');
    getWorkflow(cluster, workflow, settings)
      .then(d => {
        if (live) {
          setDetail({ ...d, cluster });
          setValues(v => Private.withDefaults(d.form, v));
        }
      })
      .catch(e => live && setLoadError(errorText(e)));
    return () => {
      live = false;
    };
  }, [cluster]);

  const prepared = useMemo(() => {
    if (!detail) {
      return null;
    }
    const p = prepareSchema(detail.form);
    keepTitles(detail.form, p.schema, p.uiSchema);
    return { ...p, uiSchema: runUiSchema(p.schema, p.uiSchema) };
  }, [detail?.form]);

  const choices = clusters.clusters.filter(
    c => c.scheduler !== 'none' && (!detail || fitsCluster(detail, c.name))
  );
  const extraErrors = useMemo(() => {
    const entries = Object.entries(props.initial.fieldErrors).filter(
      ([field]) => field
    );
    if (!entries.length) {
      return null;
    }
    const errors: Record<string, { __errors: string[] }> = {};
    for (const [field, messages] of entries) {
      errors[field] = { __errors: messages };
    }
    return errors as unknown as ErrorSchema;
  }, [props.initial.fieldErrors]);

  const jobs = detail ? jobCount(detail.steps) : 1;
  const onPlace = async (): Promise<void> => {
    if (!detail) {
      return;
    }
    setPlacing(true);
    setPlaceStatus('');
    setRanking(null);
    try {
      const one = await placeRunJob(
        stepJobSpec(detail.name, values),
        detail.clusters,
        settings
      );
      setRanking(wholeRunRanking(one, jobs));
    } catch (reason) {
      setPlaceStatus(errorText(reason));
    } finally {
      setPlacing(false);
    }
  };

  return (
    <div className="jp-rpc-RunWorkflow-body">
      {props.initial.problems.length > 0 && (
        <div className="jp-rpc-SubmitJob-problems" role="alert">
          {props.initial.problems.map((p, i) => (
            <p key={i}>{p}</p>
          ))}
        </div>
      )}
      {detail?.description && (
        <p className="jp-rpc-RunWorkflow-description">{detail.description}</p>
      )}
      {detail && (
        <p className="jp-rpc-RunWorkflow-steps">
          {trans._n(
            '%1 step: %2',
            '%1 steps: %2',
            detail.steps.length,
            stepsLine(detail.steps)
          )}
        </p>
      )}
      <ClusterSelect
        className="jp-rpc-ClusterDialog-field"
        clusters={choices}
        value={cluster}
        onChange={setCluster}
        placeholder={trans.__('Choose a cluster')}
        trans={trans}
      />
      {loadError && (
        <div className="jp-rpc-SubmitJob-problems" role="alert">
          {loadError}
        </div>
      )}
      {!detail && !loadError && (
        <div className="jp-rpc-muted">{trans.__('Loading the form…')}</div>
      )}
      {prepared && (
        <CallForm
          formId="jp-rpc-run-workflow-form"
          prepared={prepared}
          formData={values}
          liveValidate
          extraErrors={extraErrors}
          onChange={setValues}
          onSubmit={() => Private.accept()}
          onError={() => undefined}
          translator={translator}
          remotePaths={props.remotePaths}
        />
      )}
      <div className="jp-rpc-SubmitJob-place">
        <Button
          small
          className="jp-mod-styled"
          disabled={!detail || placing}
          onClick={() => void onPlace()}
        >
          {trans.__('Where should it run?')}
        </Button>
        <span role="status">
          {placing
            ? trans.__('Asking every cluster the workflow fits…')
            : placeStatus}
        </span>
        {ranking && (
          <>
            <p className="jp-rpc-muted jp-rpc-RunWorkflow-whole">
              {trans._n(
                'For the whole run: %1 job of these resources.',
                'For the whole run: %1 jobs of these resources (cost and core hours are their sum).',
                jobs
              )}
            </p>
            <PlacementView
              ranking={ranking}
              now={Date.now() / 1000}
              trans={trans}
              onPick={p => {
                const next = { ...values };
                const fields = detail?.form.properties ?? {};
                if (p.partition && 'partition' in fields) {
                  next.partition = p.partition;
                } else {
                  delete next.partition;
                }
                setValues(next);
                if (p.cluster !== cluster) {
                  setCluster(p.cluster);
                }
                setRanking(null);
                setPlaceStatus(
                  p.partition
                    ? trans.__(
                        'Chosen: %1, partition %2.',
                        p.cluster,
                        p.partition
                      )
                    : trans.__('Chosen: %1.', p.cluster)
                );
              }}
            />
          </>
        )}
      </div>
    </div>
  );
}

/**
 * Show the run form until the run is submitted or the user cancels; the new
 * run, or `null`.
 */
export async function runWorkflowFlow(
  options: IRunFormOptions
): Promise<IWorkflowRun | null> {
  const { clusters, settings } = options;
  const trans = options.translator.load('jupyter_rpc');
  await clusters.ready;
  let state: IRunFormState = {
    cluster: options.cluster,
    detail: null,
    values: { ...(options.preset?.values ?? {}) },
    problems: [],
    fieldErrors: {}
  };
  // The template first, so that the dialog has its title and form at once
  // (Run again: the run's own form, its template may have changed since).
  try {
    const detail = await getWorkflow(
      options.cluster,
      options.workflow,
      settings
    );
    state.detail = {
      ...detail,
      form: options.preset?.form ?? detail.form,
      cluster: options.cluster
    };
    state.values = Private.withDefaults(state.detail.form, state.values);
  } catch {
    // the dialog asks again and says why it cannot load the template
  }
  const redo = trans.__('Please correct the highlighted fields.');
  let title = options.workflow;
  for (;;) {
    if (state.detail) {
      title = state.detail.display_name || state.detail.name;
    }
    const result = await showDialog({
      title: trans.__('Run %1', title),
      body: new RunFormBody({ ...options, state, trans }),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Run') })
      ]
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    state = { ...result.value, problems: [], fieldErrors: {} };
    if (!state.cluster) {
      state.problems = [trans.__('Choose a cluster.')];
      continue;
    }
    if (!state.detail) {
      state.problems = [trans.__('The form has not loaded yet.')];
      continue;
    }
    const values = Private.clean(state.values);
    const fieldErrors = Private.checkFields(state.detail.form, values, trans);
    if (Object.keys(fieldErrors).length) {
      const { '': general, ...atFields } = fieldErrors;
      state.fieldErrors = atFields;
      state.problems = [redo, ...(general ?? [])];
      continue;
    }
    try {
      const cluster = state.cluster;
      const name = state.detail.name;
      return await clusters.withConnection(cluster, () =>
        runWorkflow(cluster, name, values, settings)
      );
    } catch (reason) {
      const byField =
        reason instanceof RPCRequestError
          ? problemsByField(reason.details)
          : {};
      const known = state.detail.form.properties ?? {};
      const atFields = Object.keys(byField).filter(f => f && f in known);
      if (atFields.length) {
        for (const f of atFields) {
          state.fieldErrors[f] = byField[f];
        }
        state.problems = [redo];
      } else {
        state.problems = [errorText(reason)];
      }
    }
  }
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  /**
   * Press the dialog's Run (Enter in a one-line field of the form).
   */
  export function accept(): void {
    const body = document.querySelector('.jp-Dialog .jp-rpc-RunWorkflow');
    body
      ?.closest('.jp-Dialog')
      ?.querySelector<HTMLButtonElement>('.jp-Dialog-button.jp-mod-accept')
      ?.click();
  }

  /**
   * The values with the form's defaults where they have none (what the form
   * shows is what is checked and sent).
   */
  export function withDefaults(
    form: JSONSchema7,
    values: Record<string, unknown>
  ): Record<string, unknown> {
    const schema = prepareSchema(form).schema as RJSFSchema;
    return (getDefaultFormState(
      validator,
      schema,
      values as ReadonlyJSONObject,
      schema
    ) ?? values) as Record<string, unknown>;
  }

  /**
   * Values left empty are left out (the template's default applies).
   */
  export function clean(
    values: Record<string, unknown>
  ): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(values)) {
      if (value !== undefined && value !== null && value !== '') {
        out[key] = value;
      }
    }
    return out;
  }

  /**
   * The values checked against the form, each message at its field as a
   * person reads it.
   */
  export function checkFields(
    form: JSONSchema7,
    values: Record<string, unknown>,
    trans: TranslationBundle
  ): Record<string, string[]> {
    const found: Record<string, string[]> = {};
    const { schema, uiSchema } = prepareSchema(form);
    keepTitles(form, schema, uiSchema);
    const { errors } = validator.validateFormData(
      values as ReadonlyJSONObject,
      schema
    );
    for (const error of errors) {
      let field = (error.property ?? '').replace(/^\./, '').split('.')[0];
      if (!field && error.name === 'required') {
        field = `${(error.params as { missingProperty?: string })?.missingProperty ?? ''}`;
      }
      (found[field] ??= []).push(
        humanMessage(
          {
            name: error.name,
            params: error.params as Record<string, unknown>,
            message: error.message
          },
          trans
        )
      );
    }
    return found;
  }
}
