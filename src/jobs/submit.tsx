import { Dialog, ReactWidget, showDialog } from '@jupyterlab/apputils';
import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Button, FormComponent } from '@jupyterlab/ui-components';
import type { ReadonlyJSONObject } from '@lumino/coreutils';
import type { ErrorSchema, RJSFSchema, UiSchema } from '@rjsf/utils';
import React, { useEffect, useMemo, useRef, useState } from 'react';
import { ClusterSelect } from '../clusters/ClusterSelect';
import type { IClustersManager } from '../clusters/tokens';
import { errorText, RPCRequestError } from '../shared/errors';
import { useLabelledFields } from '../shared/formLabels';
import { validator } from '../shared/validator';
import type { IJobInfo, IJobSpec, ISubmitSchema } from './api';
import { formatRelative, formatTime } from './format';
import type { JobsRegistry } from './manager';
import { type IPlacementRanking, placeJob, PlacementView } from './placement';
import {
  cleanSpec,
  envText,
  fieldMessage,
  parseEnv,
  personErrors
} from './spec';
import { lackTitle } from './capabilities';

type FormUiSchema = UiSchema<ReadonlyJSONObject, RJSFSchema>;

/**
 * The state of the submit form, kept across re-opening the dialog.
 */
interface ISubmitState {
  cluster: string;
  formData: Record<string, unknown>;
  problems: string[];
  /** Messages shown at their fields (a field's name → its messages). */
  fieldErrors: Record<string, string[]>;
  /** The form's schema as shown (to check the values against on Submit). */
  formSchema: RJSFSchema | null;
}

/**
 * The body of the "Submit job" dialog: the cluster, the form built from the
 * cluster's submit schema, and "Check start time".
 */
class SubmitBody
  extends ReactWidget
  implements Dialog.IBodyWidget<ISubmitState>
{
  constructor(
    private _options: {
      state: ISubmitState;
      registry: JobsRegistry;
      clusters: IClustersManager;
      translator: ITranslator;
      trans: TranslationBundle;
    }
  ) {
    super();
    this.addClass('jp-rpc-SubmitJob');
    this._state = { ..._options.state };
  }

  getValue(): ISubmitState {
    return this._state;
  }

  render(): JSX.Element {
    return (
      <SubmitForm
        {...this._options}
        initial={this._state}
        onChange={state => {
          this._state = state;
        }}
      />
    );
  }

  private _state: ISubmitState;
}

function SubmitForm(props: {
  initial: ISubmitState;
  registry: JobsRegistry;
  clusters: IClustersManager;
  translator: ITranslator;
  trans: TranslationBundle;
  onChange: (state: ISubmitState) => void;
}): JSX.Element {
  const { registry, clusters, translator, trans } = props;
  const [cluster, setCluster] = useState(props.initial.cluster);
  const [formData, setFormData] = useState(() =>
    props.initial.formData.env === undefined
      ? props.initial.formData
      : { ...props.initial.formData, env: envText(props.initial.formData.env) }
  );
  const [schema, setSchema] = useState<ISubmitSchema | null>(null);
  const [loadError, setLoadError] = useState('');
  const [check, setCheck] = useState('');
  const [checking, setChecking] = useState(false);
  const [ranking, setRanking] = useState<IPlacementRanking | null>(null);
  const [placing, setPlacing] = useState(false);
  const [placeStatus, setPlaceStatus] = useState('');
  const withScheduler = clusters.clusters.filter(c => c.scheduler !== 'none');

  // The form's schema: the dialog has the title; "script or script_path" is
  // checked on Submit (rjsf would render the root `oneOf` as an "option 1 /
  // option 2" picker); the environment is text.
  const formSchema = useMemo(() => {
    if (!schema) {
      return null;
    }
    const copy = { ...(schema.schema as RJSFSchema) };
    delete copy.title;
    delete copy.oneOf;
    delete copy.anyOf;
    const properties = { ...(copy.properties ?? {}) };
    if (properties.env) {
      // As text, one NAME=value per line: rjsf's editor of an object's free
      // keys is a bare "+" per variable.
      properties.env = {
        type: 'string',
        title: trans.__('Environment variables'),
        description: trans.__('One NAME=value per line')
      };
    }
    copy.properties = properties;
    return copy;
  }, [schema]);

  useEffect(() => {
    props.onChange({
      cluster,
      formData,
      problems: [],
      fieldErrors: {},
      formSchema
    });
  }, [cluster, formData, formSchema]);

  useEffect(() => {
    if (!cluster) {
      return;
    }
    let cancelled = false;
    setSchema(null);
    setLoadError('');
    setCheck('');
    registry
      .get(cluster)
      .submitSchema()
      .then(s => !cancelled && setSchema(s))
      .catch(reason => !cancelled && setLoadError(errorText(reason)));
    return () => {
      cancelled = true;
    };
  }, [cluster]);

  const onCheck = async (): Promise<void> => {
    setChecking(true);
    setCheck('');
    try {
      const result = await registry.get(cluster).test(cleanSpec(formData));
      const when =
        result.expected_start === null
          ? ''
          : trans.__(
              'Expected start: %1 (%2).',
              formatTime(result.expected_start),
              formatRelative(result.expected_start, Date.now() / 1000)
            );
      setCheck([when, result.message].filter(Boolean).join(' '));
    } catch (reason) {
      setCheck(errorText(reason));
    } finally {
      setChecking(false);
    }
  };

  const onPlace = async (): Promise<void> => {
    setPlacing(true);
    setPlaceStatus('');
    setRanking(null);
    try {
      setRanking(
        await placeJob(cleanSpec(formData), 5, clusters.serverSettings)
      );
    } catch (reason) {
      setPlaceStatus(errorText(reason));
    } finally {
      setPlacing(false);
    }
  };

  const uiSchema: FormUiSchema = {
    ...((schema?.ui_schema ?? {}) as FormUiSchema),
    env: { 'ui:widget': 'textarea', 'ui:options': { rows: 3 } },
    'ui:submitButtonOptions': { norender: true }
  };
  const extraErrors = useMemo(() => {
    const entries = Object.entries(props.initial.fieldErrors);
    if (!entries.length) {
      return undefined;
    }
    const errors: Record<string, { __errors: string[] }> = {};
    for (const [field, messages] of entries) {
      errors[field] = { __errors: messages };
    }
    return errors as unknown as ErrorSchema;
  }, [props.initial.fieldErrors]);
  const formRef = useRef<HTMLDivElement>(null);
  useLabelledFields(formRef);
  return (
    <div className="jp-rpc-SubmitJob-body" ref={formRef}>
      {props.initial.problems.length > 0 && (
        <div className="jp-rpc-SubmitJob-problems" role="alert">
          {props.initial.problems.map((p, i) => (
            <p key={i}>{p}</p>
          ))}
        </div>
      )}
      <ClusterSelect
        className="jp-rpc-ClusterDialog-field"
        clusters={withScheduler}
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
      {!schema && !loadError && cluster && (
        <div className="jp-rpc-muted">{trans.__('Loading the form…')}</div>
      )}
      {formSchema && (
        <FormComponent
          idPrefix="jp-rpc-job"
          schema={formSchema}
          uiSchema={uiSchema}
          formData={formData as ReadonlyJSONObject}
          validator={validator}
          noHtml5Validate
          showErrorList={false}
          // Live: Lab's dialog disables Submit while an input is :invalid
          // (CPUs 0 under a minimum of 1), so the reason shows at the field.
          liveValidate
          transformErrors={personErrors(trans)}
          extraErrors={extraErrors}
          onChange={e =>
            setFormData((e.formData ?? {}) as Record<string, unknown>)
          }
          translator={translator}
          compact
          showModifiedFromDefault={false}
        />
      )}
      <div className="jp-rpc-SubmitJob-check">
        <Button
          small
          className="jp-mod-styled"
          disabled={!schema || checking}
          title={lackTitle(clusters.get(cluster), 'test_only', trans)}
          onClick={() => void onCheck()}
        >
          {trans.__('Check start time')}
        </Button>
        <span className="jp-rpc-SubmitJob-checkResult" role="status">
          {checking ? trans.__('Asking the scheduler…') : check}
        </span>
      </div>
      <div className="jp-rpc-SubmitJob-place">
        <Button
          small
          className="jp-mod-styled"
          disabled={!schema || placing}
          onClick={() => void onPlace()}
        >
          {trans.__('Where should it run?')}
        </Button>
        <span role="status">
          {placing ? trans.__('Asking every cluster…') : placeStatus}
        </span>
        {ranking && (
          <PlacementView
            ranking={ranking}
            now={Date.now() / 1000}
            trans={trans}
            onPick={p => {
              const next = { ...formData };
              if (p.partition) {
                next.partition = p.partition;
              } else {
                delete next.partition;
              }
              setFormData(next);
              setCluster(p.cluster);
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
        )}
      </div>
    </div>
  );
}

/**
 * Options of {@link submitJobFlow}.
 */
export interface ISubmitOptions {
  registry: JobsRegistry;
  clusters: IClustersManager;
  translator: ITranslator;
  /** The cluster to start with. */
  cluster?: string;
  /** Values to start with (`script` or `script_path`, ...). */
  preset?: IJobSpec;
}

/**
 * Show the "Submit job" dialog until the job is submitted or the user
 * cancels; the new job and its cluster, or `null`.
 */
export async function submitJobFlow(
  options: ISubmitOptions
): Promise<{ cluster: string; job: IJobInfo } | null> {
  const { registry, clusters, translator } = options;
  const trans = translator.load('jupyter_rpc');
  await clusters.ready;
  const fallback =
    clusters.clusters.find(c => c.scheduler !== 'none')?.name ?? '';
  let state: ISubmitState = {
    cluster: options.cluster || fallback,
    formData: { ...(options.preset ?? {}) } as Record<string, unknown>,
    problems: [],
    fieldErrors: {},
    formSchema: null
  };
  const redo = trans.__('Please correct the highlighted fields.');
  for (;;) {
    const result = await showDialog({
      title: trans.__('Submit a job'),
      body: new SubmitBody({ state, registry, clusters, translator, trans }),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Submit') })
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
    // Every problem is said at its field, as the form's own checks would.
    const fieldErrors = Private.checkFields(state, trans);
    const { env, errors: envErrors } = parseEnv(
      envText(state.formData.env ?? '')
    );
    if (envErrors.length) {
      (fieldErrors.env ??= []).push(
        trans.__('Not NAME=value on line %1', envErrors.join('; '))
      );
    }
    const spec = cleanSpec({ ...state.formData, env });
    // The form's default script is only a shebang: not a script of its own.
    if (
      spec.script !== undefined &&
      /^(#![^\n]*)?\s*$/.test(spec.script ?? '')
    ) {
      delete spec.script;
    }
    if (!spec.script && !spec.script_path) {
      (fieldErrors.script ??= []).push(
        trans.__('Write a script, or give the path of one on the cluster.')
      );
    }
    if (Object.keys(fieldErrors).length) {
      state.fieldErrors = fieldErrors;
      state.problems = [redo];
      continue;
    }
    try {
      const job = await registry.get(state.cluster).submit(spec);
      return { cluster: state.cluster, job };
    } catch (reason) {
      // The scheduler's refusal of one value is said at that field.
      const field =
        reason instanceof RPCRequestError ? reason.details?.field : undefined;
      if (typeof field === 'string' && state.formSchema?.properties?.[field]) {
        state.fieldErrors = { [field]: [errorText(reason)] };
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
   * The form's values checked against its schema, each message at its field.
   */
  export function checkFields(
    state: ISubmitState,
    trans: TranslationBundle
  ): Record<string, string[]> {
    const found: Record<string, string[]> = {};
    if (!state.formSchema) {
      return found;
    }
    const { errors } = validator.validateFormData(
      state.formData as ReadonlyJSONObject,
      state.formSchema
    );
    for (const error of errors) {
      const field = (error.property ?? '').replace(/^\./, '').split('.')[0];
      if (!field) {
        continue;
      }
      (found[field] ??= []).push(
        fieldMessage(
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
