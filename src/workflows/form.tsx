/**
 * The run form of a workflow template, shown in the Workflows tab (not a
 * dialog: a path's Browse… opens Lab's dialog, which waits for any dialog
 * open before it): the cluster, the template's inputs (the functions panel's
 * form: every kind of value, paths on a cluster with Browse…), the container
 * image when the template lists some, the resources with the site's
 * overrides, live messages at their fields, and "Where should it run?"
 * ranking the clusters the template fits for the whole run. Run submits every
 * step at once; what is wrong (the form's checks, or the server's refusal of
 * a value) is said at its field and nothing is submitted.
 */
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
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
import { errorText, RPCRequestError } from '../shared/errors';
import { validator } from '../shared/validator';
import type { IWorkflowDetail, IWorkflowRun } from './api';
import { getWorkflow, placeRun, runWorkflow } from './api';
import type { IWorkflowPlacement } from './api';
import {
  fitsCluster,
  keepTitles,
  problemsByField,
  runUiSchema,
  stepsLine,
  wholeRunText
} from './model';

/**
 * What the form is for: a template on a cluster, or Run again.
 */
export interface IRunFormRequest {
  /** The cluster the template was picked on. */
  cluster: string;
  /** The template's name. */
  workflow: string;
  /** Run again: the run's form and values. */
  preset?: { form: JSONSchema7; values: Record<string, unknown> };
}

/**
 * What the form needs besides its request.
 */
export interface IRunFormContext {
  clusters: IClustersManager;
  translator: ITranslator;
  settings: () => ServerConnection.ISettings;
  /** Path fields browse the clusters with it (without: text only). */
  remotePaths: IRemotePathContext | null;
  /** Field descriptions render as Markdown with it (without: plain text). */
  rendermime?: IRenderMimeRegistry;
}

/**
 * The template as a cluster gives it (its form has that cluster's overrides).
 */
type ILoadedDetail = IWorkflowDetail & { cluster: string };

/**
 * The run form in the Workflows tab; `onDone` gets the new run, or `null`
 * when the user cancels.
 */
export function RunForm(
  props: IRunFormContext & {
    request: IRunFormRequest;
    trans: TranslationBundle;
    onDone: (run: IWorkflowRun | null) => void;
  }
): JSX.Element {
  const { clusters, translator, trans, request } = props;
  const { workflow, preset } = request;
  const settings = props.settings();
  const [cluster, setCluster] = useState(request.cluster);
  const [detail, setDetail] = useState<ILoadedDetail | null>(null);
  const [values, setValues] = useState<Record<string, unknown>>(
    preset?.values ?? {}
  );
  const [loadError, setLoadError] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [submitting, setSubmitting] = useState(false);
  const [ranking, setRanking] = useState<IWorkflowPlacement | null>(null);
  const [placing, setPlacing] = useState(false);
  const [placeStatus, setPlaceStatus] = useState('');

  // The template's form on the chosen cluster (its overrides are the
  // cluster's): asked again when the cluster changes. Run again keeps the
  // run's own form on its cluster (its template may have changed since).
  useEffect(() => {
    if (!cluster || (detail && detail.cluster === cluster)) {
      return;
    }
    let live = true;
    setLoadError('');
    getWorkflow(cluster, workflow, settings)
      .then(d => {
        if (!live) {
          return;
        }
        const form =
          preset && cluster === request.cluster ? preset.form : d.form;
        setDetail({ ...d, form, cluster });
        setValues(v => Private.withDefaults(form, v));
      })
      .catch(e => live && setLoadError(errorText(e)));
    return () => {
      live = false;
    };
  }, [cluster]);

  const onRun = async (): Promise<void> => {
    if (!detail || submitting) {
      return;
    }
    const redo = trans.__('Please correct the highlighted fields.');
    const sent = Private.clean(values);
    const found = Private.checkFields(detail.form, sent, trans);
    if (Object.keys(found).length) {
      const { '': general, ...atFields } = found;
      setFieldErrors(atFields);
      setProblems([redo, ...(general ?? [])]);
      return;
    }
    setSubmitting(true);
    setProblems([]);
    setFieldErrors({});
    try {
      const name = detail.name;
      const run = await clusters.withConnection(cluster, () =>
        runWorkflow(cluster, name, sent, settings)
      );
      props.onDone(run);
    } catch (reason) {
      // The server's refusal of a value is said at its field.
      const byField =
        reason instanceof RPCRequestError
          ? problemsByField(reason.details)
          : {};
      const known = detail.form.properties ?? {};
      const atFields = Object.fromEntries(
        Object.entries(byField).filter(([f]) => f && f in known)
      );
      if (Object.keys(atFields).length) {
        setFieldErrors(atFields);
        setProblems([redo]);
      } else {
        setProblems([errorText(reason)]);
      }
    } finally {
      setSubmitting(false);
    }
  };

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
    const entries = Object.entries(fieldErrors).filter(([field]) => field);
    if (!entries.length) {
      return null;
    }
    const errors: Record<string, { __errors: string[] }> = {};
    for (const [field, messages] of entries) {
      errors[field] = { __errors: messages };
    }
    return errors as unknown as ErrorSchema;
  }, [fieldErrors]);

  const onPlace = async (): Promise<void> => {
    if (!detail) {
      return;
    }
    setPlacing(true);
    setPlaceStatus('');
    setRanking(null);
    try {
      setRanking(await placeRun(detail.name, Private.clean(values), settings));
    } catch (reason) {
      // A value the ranking cannot take is said at its field.
      const byField =
        reason instanceof RPCRequestError
          ? problemsByField(reason.details)
          : {};
      const known = detail.form.properties ?? {};
      const atFields = Object.fromEntries(
        Object.entries(byField).filter(([f]) => f && f in known)
      );
      if (Object.keys(atFields).length) {
        setFieldErrors(atFields);
      }
      setPlaceStatus(errorText(reason));
    } finally {
      setPlacing(false);
    }
  };

  return (
    <div className="jp-rpc-RunWorkflow" data-workflow={workflow}>
      <h2 className="jp-rpc-RunWorkflow-title">
        {trans.__('Run %1', detail?.display_name || workflow)}
      </h2>
      {problems.length > 0 && (
        <div className="jp-rpc-SubmitJob-problems" role="alert">
          {problems.map((p, i) => (
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
          onChange={next => {
            // A field changed since Run: its old message goes.
            const changed = Object.keys(fieldErrors).filter(
              k => JSON.stringify(next[k]) !== JSON.stringify(values[k])
            );
            if (changed.length) {
              const left = { ...fieldErrors };
              changed.forEach(k => delete left[k]);
              setFieldErrors(left);
              if (!Object.keys(left).length) {
                setProblems([]);
              }
            }
            setValues(next);
          }}
          onSubmit={() => void onRun()}
          onError={() => undefined}
          translator={translator}
          remotePaths={props.remotePaths}
          rendermime={props.rendermime}
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
              {wholeRunText(ranking.run, trans)}
            </p>
            <PlacementView
              ranking={ranking.ranking}
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
      <div className="jp-rpc-RunWorkflow-buttons">
        <Button
          className="jp-mod-styled jp-mod-reject"
          onClick={() => props.onDone(null)}
        >
          {trans.__('Cancel')}
        </Button>
        <Button
          className="jp-mod-styled jp-mod-accept"
          disabled={!detail || submitting}
          onClick={() => void onRun()}
        >
          {submitting ? trans.__('Submitting…') : trans.__('Run')}
        </Button>
      </div>
    </div>
  );
}

/**
 * A namespace for private helpers.
 */
namespace Private {
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
