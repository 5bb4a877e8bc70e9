/**
 * "Run on Cluster…" of a notebook, in the Workflows tab: the cluster, the
 * variables of its parameters cell with their current values (the functions
 * panel's form), the environment on the cluster (a shell line: a module, a
 * conda environment, a venv; remembered per cluster in this browser) and the
 * resources. Run makes a run of one step that executes the notebook there.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import React, { useMemo, useState } from 'react';
import { ClusterSelect } from '../clusters/ClusterSelect';
import { CallForm } from '../functions/CallForm';
import { prepareSchema } from '../functions/schema';
import { errorText } from '../shared/errors';
import type { IWorkflowRun } from './api';
import { runNotebook } from './api';
import type { IRunFormContext } from './form';
import {
  changedParameters,
  parametersSchema,
  parametersSource,
  parseParameters
} from './notebook';

/**
 * A notebook to run: its path in Lab, its JSON, the cluster to start with.
 */
export interface INotebookRunRequest {
  path: string;
  notebook: Record<string, unknown>;
  cluster: string;
}

const ENV_KEY = 'jupyter-rpc:notebook-environment:';

function remembered(cluster: string): string {
  try {
    return window.localStorage.getItem(ENV_KEY + cluster) ?? '';
  } catch {
    return '';
  }
}

/**
 * The form; `onDone` gets the new run, or `null` when the user cancels.
 */
export function NotebookRunForm(
  props: IRunFormContext & {
    request: INotebookRunRequest;
    trans: TranslationBundle;
    onDone: (run: IWorkflowRun | null) => void;
  }
): JSX.Element {
  const { clusters, translator, trans, request } = props;
  const name = request.path.split('/').pop() ?? 'notebook.ipynb';
  const parameters = useMemo(
    () => parseParameters(parametersSource(request.notebook) ?? ''),
    [request.notebook]
  );
  const prepared = useMemo(
    () => prepareSchema(parametersSchema(parameters)),
    [parameters]
  );
  const [cluster, setCluster] = useState(request.cluster);
  const [values, setValues] = useState<Record<string, unknown>>(() =>
    Object.fromEntries(
      Object.entries(prepared.schema.properties ?? {}).map(([k, s]) => [
        k,
        typeof s === 'object' ? s.default : undefined
      ])
    )
  );
  const [environment, setEnvironment] = useState(() =>
    remembered(request.cluster)
  );
  const [hours, setHours] = useState('1');
  const [cpus, setCpus] = useState('1');
  const [problem, setProblem] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const choices = clusters.clusters.filter(c => c.scheduler !== 'none');

  const onRun = async (): Promise<void> => {
    if (!cluster) {
      setProblem(trans.__('Choose a cluster.'));
      return;
    }
    const h = Number(hours);
    const c = Number(cpus);
    if (!(h > 0) || !Number.isInteger(c) || c < 1) {
      setProblem(
        trans.__(
          'Hours must be more than 0 and CPUs a whole number, 1 or more.'
        )
      );
      return;
    }
    setSubmitting(true);
    setProblem('');
    try {
      window.localStorage.setItem(ENV_KEY + cluster, environment);
    } catch {
      // a browser without storage forgets it
    }
    try {
      const run = await clusters.withConnection(cluster, () =>
        runNotebook(
          cluster,
          {
            notebook: request.notebook,
            name,
            parameters: changedParameters(parameters, values),
            values: { environment, hours: h, cpus: c }
          },
          props.settings()
        )
      );
      props.onDone(run);
    } catch (reason) {
      setProblem(errorText(reason));
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <div className="jp-rpc-RunWorkflow jp-rpc-RunNotebook">
      <h2 className="jp-rpc-RunWorkflow-title">
        {trans.__('Run %1 on a cluster', name)}
      </h2>
      {problem && (
        <div className="jp-rpc-SubmitJob-problems" role="alert">
          {problem}
        </div>
      )}
      <p className="jp-rpc-RunWorkflow-steps">
        {trans.__(
          'The notebook is copied into a run folder, executed there headless, and comes back executed (out.ipynb).'
        )}
      </p>
      <ClusterSelect
        className="jp-rpc-ClusterDialog-field"
        clusters={choices}
        value={cluster}
        onChange={c => {
          setCluster(c);
          setEnvironment(remembered(c));
        }}
        placeholder={trans.__('Choose a cluster')}
        trans={trans}
      />
      <h3 className="jp-rpc-WorkflowRun-subheading">
        {trans.__('Parameters')}
      </h3>
      {parameters.length ? (
        <CallForm
          formId="jp-rpc-run-notebook-form"
          prepared={prepared}
          formData={values}
          liveValidate
          extraErrors={null}
          onChange={setValues}
          onSubmit={() => void onRun()}
          onError={() => undefined}
          translator={translator}
          remotePaths={props.remotePaths}
          rendermime={props.rendermime}
        />
      ) : (
        <div className="jp-rpc-muted">
          {trans.__(
            'No parameters: tag a code cell "parameters" to set its variables here.'
          )}
        </div>
      )}
      <h3 className="jp-rpc-WorkflowRun-subheading">
        {trans.__('Where and with what')}
      </h3>
      <div className="jp-rpc-RunNotebook-fields">
        <label>
          {trans.__('Environment (a shell line run first)')}
          <input
            className="jp-mod-styled"
            name="environment"
            placeholder={trans.__('module load python/3.12')}
            value={environment}
            onChange={e => setEnvironment(e.target.value)}
          />
        </label>
        <label>
          {trans.__('Hours')}
          <input
            className="jp-mod-styled"
            name="hours"
            type="number"
            min="0"
            step="0.25"
            value={hours}
            onChange={e => setHours(e.target.value)}
          />
        </label>
        <label>
          {trans.__('CPUs')}
          <input
            className="jp-mod-styled"
            name="cpus"
            type="number"
            min="1"
            step="1"
            value={cpus}
            onChange={e => setCpus(e.target.value)}
          />
        </label>
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
          disabled={submitting}
          onClick={() => void onRun()}
        >
          {submitting ? trans.__('Submitting…') : trans.__('Run')}
        </Button>
      </div>
    </div>
  );
}
