/**
 * The start dialog of a compute-node kernel (docs/kernels.md): before
 * JupyterLab starts a kernel profile's kernel ("Python 3 on CLUSTER, GPU
 * node"), the user confirms or changes its job's values (partition, time
 * limit, CPUs, memory, GPUs, account, QOS) in the profile's form. The values
 * are kept on the server (`PUT .../kernel-profiles/{profile}`), and the
 * kernel's provisioner submits its job with them: Lab's start request carries
 * only the kernel's name.
 *
 * Every kernel start of a notebook or console goes through its
 * `SessionContext`: the Launcher's cards, a notebook's own kernel when it
 * opens, the kernel picker. `guardKernelStarts` (guard.ts) puts the dialog
 * in front of that one step. Cancel starts nothing: the notebook stays with its
 * kernel, or with none. A restart keeps the job and asks nothing.
 */
import { Dialog, ReactWidget, showDialog } from '@jupyterlab/apputils';
import type { ServerConnection } from '@jupyterlab/services';
import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Button, FormComponent } from '@jupyterlab/ui-components';
import type { ReadonlyJSONObject } from '@lumino/coreutils';
import type { ErrorSchema, RJSFSchema, UiSchema } from '@rjsf/utils';
import React, { useRef, useState } from 'react';
import { personErrors } from '../jobs/spec';
import type { BodyOf } from '../shared/contract';
import { errorText, RPCRequestError } from '../shared/errors';
import { useLabelledFields } from '../shared/formLabels';
import { validator } from '../shared/validator';
import type { IKernelProfileForm } from './api';
import { getKernelProfile, setKernelProfileValues } from './api';
import type { IProfileRef } from './guard';

type Values = Record<string, unknown>;
type WireValues = BodyOf<'setKernelProfileValues'>['values'];

interface IBodyOptions {
  form: IKernelProfileForm;
  values: Values;
  problems: string[];
  fieldErrors: Record<string, string[]>;
  translator: ITranslator;
  trans: TranslationBundle;
}

/** The dialog's body: what the job asks for, as a form. */
class ValuesBody extends ReactWidget implements Dialog.IBodyWidget<Values> {
  constructor(private _options: IBodyOptions) {
    super();
    this.addClass('jp-rpc-KernelValues');
    this._values = { ..._options.values };
  }

  getValue(): Values {
    return this._values;
  }

  render(): JSX.Element {
    return (
      <ValuesForm
        {...this._options}
        onChange={values => {
          this._values = values;
        }}
      />
    );
  }

  private _values: Values;
}

function ValuesForm(
  props: IBodyOptions & { onChange: (values: Values) => void }
): JSX.Element {
  const { form, trans, translator } = props;
  const [values, setValues] = useState<Values>(props.values);
  const ref = useRef<HTMLDivElement>(null);
  useLabelledFields(ref);
  const change = (next: Values) => {
    setValues(next);
    props.onChange(next);
  };
  const entries = Object.entries(props.fieldErrors);
  const extraErrors = entries.length
    ? (Object.fromEntries(
        entries.map(([field, messages]) => [field, { __errors: messages }])
      ) as unknown as ErrorSchema)
    : undefined;
  const label = form.partitions.length
    ? trans.__(
        'This kernel runs in a batch job on %1. Its job asks for:',
        form.cluster
      )
    : trans.__('This kernel runs in a batch job. Its job asks for:');
  return (
    <div className="jp-rpc-KernelValues-body" ref={ref}>
      {props.problems.length > 0 && (
        <div className="jp-rpc-SubmitJob-problems" role="alert">
          {props.problems.map((p, i) => (
            <p key={i}>{p}</p>
          ))}
        </div>
      )}
      <p>{label}</p>
      <FormComponent
        idPrefix="jp-rpc-kernel"
        schema={form.schema as RJSFSchema}
        uiSchema={form.ui_schema as UiSchema<ReadonlyJSONObject, RJSFSchema>}
        formData={values as ReadonlyJSONObject}
        validator={validator}
        noHtml5Validate
        showErrorList={false}
        liveValidate
        transformErrors={personErrors(trans)}
        extraErrors={extraErrors}
        onChange={e => change({ ...((e.formData ?? {}) as Values) })}
        translator={translator}
        compact
        showModifiedFromDefault={false}
      />
      <div className="jp-rpc-KernelValues-foot">
        <span className="jp-rpc-muted">
          {trans.__(
            'Kept for this kernel’s next starts, also from scripts and nbclient.'
          )}
        </span>
        <Button
          small
          className="jp-mod-styled"
          onClick={() => change({ ...(form.defaults as Values) })}
        >
          {trans.__('Use the profile’s values')}
        </Button>
      </div>
    </div>
  );
}

/**
 * Show the profile's form; `true` once the values the user confirmed are
 * kept (the kernel may start), `false` on Cancel. A refused value is shown
 * at its field and the dialog opens again. When the form cannot be read (the
 * cluster is unreachable), the user chooses whether to start with the values
 * last kept.
 */
export async function confirmProfileValues(
  profile: IProfileRef,
  translator: ITranslator,
  settings?: ServerConnection.ISettings
): Promise<boolean> {
  const trans = translator.load('jupyter_rpc');
  let form: IKernelProfileForm;
  try {
    form = await getKernelProfile(profile.cluster, profile.profile, settings);
  } catch (reason) {
    const result = await showDialog({
      title: trans.__('Start %1?', profile.displayName),
      body: trans.__(
        'Its job’s values could not be read: %1 Start it with the values it had last time?',
        errorText(reason)
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Start') })
      ]
    });
    return result.button.accept;
  }
  let values = { ...(form.values as Values) };
  let problems: string[] = [];
  let fieldErrors: Record<string, string[]> = {};
  for (;;) {
    const result = await showDialog({
      title: trans.__('Start %1', form.display_name),
      body: new ValuesBody({
        form,
        values,
        problems,
        fieldErrors,
        translator,
        trans
      }),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Start') })
      ]
    });
    if (!result.button.accept) {
      return false;
    }
    values = result.value ?? values;
    try {
      await setKernelProfileValues(
        profile.cluster,
        profile.profile,
        Private.clean(values),
        settings
      );
      return true;
    } catch (reason) {
      const field =
        reason instanceof RPCRequestError ? reason.details?.field : undefined;
      problems = [];
      fieldErrors = {};
      const fields = (form.schema.properties ?? {}) as Record<string, unknown>;
      if (typeof field === 'string' && field in fields) {
        fieldErrors = { [field]: [errorText(reason)] };
        problems = [trans.__('Please correct the highlighted field.')];
      } else {
        problems = [errorText(reason)];
      }
    }
  }
}

namespace Private {
  /** The form's values as the server takes them: empty ones left out. */
  export function clean(values: Values): WireValues {
    return Object.fromEntries(
      Object.entries(values).filter(([, v]) => v !== undefined && v !== '')
    ) as WireValues;
  }
}
