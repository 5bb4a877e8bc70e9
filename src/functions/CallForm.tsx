import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { FormComponent } from '@jupyterlab/ui-components';
import type { ReadonlyJSONObject } from '@lumino/coreutils';
import { getDefaultFormState } from '@rjsf/utils';
import type {
  ErrorSchema,
  Experimental_DefaultFormStateBehavior,
  FormValidation,
  RegistryFieldsType,
  RJSFSchema,
  RegistryWidgetsType,
  RJSFValidationError
} from '@rjsf/utils';
import React, { useMemo, useRef } from 'react';
import { useLabelledFields } from '../shared/formLabels';
import { useMarkdownDescriptions } from './schema/description';
import { validator } from '../shared/validator';
import { humanMessage } from './messages';
import { GeoField } from '../maps/GeoField';
import { geoErrors, geoFields, isInsideGeoField } from '../maps/geo';
import { GEO_FIELD, REMOTE_PATH_WIDGET } from './schema';
import type { IPreparedSchema } from './schema';
import { RemotePathWidget } from './RemotePathWidget';
import type { IRemotePathContext } from './RemotePathWidget';

/**
 * Properties of {@link CallForm}.
 */
export interface ICallFormProps {
  /** `id` of the `<form>` (the Run button outside the form submits it). */
  formId: string;
  /** Renders the fields' descriptions as Markdown (without: plain text). */
  rendermime?: IRenderMimeRegistry;
  prepared: IPreparedSchema;
  formData: Record<string, unknown>;
  /** Validate on every change (after the first submit). */
  liveValidate: boolean;
  /** Errors the server found, by field. */
  extraErrors: ErrorSchema | null;
  onChange: (formData: Record<string, unknown>) => void;
  onSubmit: (formData: Record<string, unknown>) => void;
  onError: (errors: RJSFValidationError[]) => void;
  translator: ITranslator;
  /**
   * The clusters and file browser factory path fields browse with (a
   * "Browse…" button); without them (or without clusters) paths are text.
   */
  remotePaths?: IRemotePathContext | null;
}

/**
 * The form's own widgets (named in the uiSchema by `prepareSchema`).
 */
const WIDGETS: RegistryWidgetsType<ReadonlyJSONObject> = {
  [REMOTE_PATH_WIDGET]: RemotePathWidget
};

/**
 * The form's own fields: geo parameters as a map with their text beside it.
 */
const FIELDS: RegistryFieldsType<ReadonlyJSONObject> = {
  [GEO_FIELD]: GeoField
};

/**
 * Empty optional sub-objects stay absent (so an `Optional[Model]` left empty
 * is not validated as an empty model).
 */
const DEFAULTS_BEHAVIOR: Experimental_DefaultFormStateBehavior = {
  emptyObjectFields: 'skipEmptyDefaults'
};

/**
 * The arguments form of a function, rendered from its JSON Schema with
 * JupyterLab's `FormComponent` (the settings editor's look). Enter in a
 * one-line field, or Ctrl/Cmd+Enter anywhere, submits it; an invalid submit
 * moves the focus to the first field in error.
 */
export function CallForm(props: ICallFormProps): JSX.Element {
  const { formId, prepared, translator } = props;
  const trans = translator.load('jupyter_rpc');
  const remotePaths = props.remotePaths ?? null;
  const schema = prepared.schema as RJSFSchema;
  const defaultFormData = useMemo(
    () =>
      getDefaultFormState(
        validator,
        schema,
        undefined,
        schema,
        false,
        DEFAULTS_BEHAVIOR
      ) ?? {},
    [schema]
  );
  const formContext = useMemo(
    () => ({ defaultFormData, remotePaths, trans }),
    [defaultFormData, remotePaths, trans]
  );
  const onKeyDown = (event: React.KeyboardEvent<HTMLDivElement>): void => {
    if (event.key !== 'Enter' || event.shiftKey || event.altKey) {
      return;
    }
    // Ctrl/Cmd+Enter anywhere, or Enter in a one-line field, runs the call. The
    // browser's own Enter would press the form's first submit button, which in a
    // form with a list is "Add item".
    const modified = event.ctrlKey || event.metaKey;
    if (!modified && !Private.submitsOnEnter(event.target)) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    const form = document.getElementById(formId);
    if (form instanceof HTMLFormElement) {
      form.requestSubmit();
    }
  };
  const hasFields = Object.keys(prepared.schema.properties ?? {}).length > 0;
  const geo = useMemo(() => geoFields(prepared.schema), [prepared.schema]);
  const formRef = useRef<HTMLDivElement>(null);
  useLabelledFields(formRef);
  useMarkdownDescriptions(formRef, props.rendermime, prepared.descriptions);
  return (
    <div className="jp-rpc-CallForm" onKeyDown={onKeyDown} ref={formRef}>
      <FormComponent
        id={formId}
        idPrefix="jp-rpc-arg"
        schema={schema}
        uiSchema={prepared.uiSchema}
        formData={props.formData as ReadonlyJSONObject}
        formContext={formContext}
        widgets={WIDGETS}
        fields={FIELDS}
        customValidate={
          geo.length
            ? (data, errors) => Private.geoValidate(prepared, data, errors)
            : undefined
        }
        validator={validator}
        liveValidate={props.liveValidate}
        noHtml5Validate
        showErrorList={false}
        focusOnFirstError
        extraErrors={props.extraErrors ?? undefined}
        experimental_defaultFormStateBehavior={DEFAULTS_BEHAVIOR}
        onChange={e =>
          props.onChange((e.formData ?? {}) as Record<string, unknown>)
        }
        onSubmit={e =>
          props.onSubmit((e.formData ?? {}) as Record<string, unknown>)
        }
        onError={props.onError}
        transformErrors={errors =>
          Private.transformErrors(
            // A geo field says its own, plainer message (customValidate).
            geo.length
              ? errors.filter(e => !isInsideGeoField(e.property, geo))
              : errors,
            trans
          )
        }
        translator={translator}
        compact
        showModifiedFromDefault={false}
      />
      {!hasFields && (
        <div className="jp-rpc-muted">
          {trans.__('This function takes no arguments.')}
        </div>
      )}
    </div>
  );
}

/**
 * A namespace for private helpers.
 */
namespace Private {
  /**
   * One-line inputs, where Enter means "run" (not in a text area, where it is
   * a new line, nor on a button or a choice, which have their own Enter).
   */
  const ONE_LINE = new Set([
    'text',
    'number',
    'search',
    'email',
    'url',
    'tel',
    'password',
    'date',
    'datetime-local',
    'time'
  ]);

  /**
   * The geo arguments' checks (closed rings, longitude and latitude in
   * range, the expected type), each at its field.
   */
  export function geoValidate(
    prepared: IPreparedSchema,
    data: ReadonlyJSONObject | undefined,
    errors: FormValidation<ReadonlyJSONObject>
  ): FormValidation<ReadonlyJSONObject> {
    for (const { path, message } of geoErrors(prepared.schema, data)) {
      let node: any = errors;
      for (const key of path) {
        node = node?.[key];
      }
      node?.addError?.(message);
    }
    return errors;
  }

  export function submitsOnEnter(target: EventTarget | null): boolean {
    return target instanceof HTMLInputElement && ONE_LINE.has(target.type);
  }

  /**
   * Messages name fields by their label; drop the required mark (`'lon *'`).
   */
  export function transformErrors(
    errors: RJSFValidationError[],
    trans: TranslationBundle
  ): RJSFValidationError[] {
    return errors.map(e => {
      const message = humanMessage(
        {
          name: e.name,
          params: e.params as Record<string, unknown> | undefined,
          message: e.message
        },
        trans
      ).replace(/ \*'/g, "'");
      return { ...e, message, stack: message };
    });
  }
}
