/** The campaign settings the wizard asks for and the dashboard edits: overlap and lease length. */
import { TextField, type FieldErrors } from "./fields";

export const SETTINGS_KEYS = ["overlap", "lease_minutes"] as const;
type SettingsKey = (typeof SETTINGS_KEYS)[number];
/** As typed, keyed like the API's fields (and its errors). */
export type SettingsDraft = Record<SettingsKey, string>;

const META: Record<SettingsKey, { id: string; label: string; max: number; hint: string }> = {
  overlap: {
    id: "overlap",
    label: "Overlap (annotators per item)",
    max: 50,
    hint: "How many people label each output; 3 lets a majority form.",
  },
  lease_minutes: {
    id: "lease",
    label: "Lease length (minutes)",
    max: 1440,
    hint: "An item an annotator holds longer than this goes back to the pool.",
  },
};

export function settingsDraft(values: Record<SettingsKey, number>): SettingsDraft {
  return { overlap: String(values.overlap), lease_minutes: String(values.lease_minutes) };
}

/** The settings to send (NaN stays NaN so that the server names the problem). */
export function settingsValues(draft: SettingsDraft): Record<SettingsKey, number> {
  return { overlap: Number(draft.overlap), lease_minutes: Number(draft.lease_minutes) };
}

interface Props {
  idBase: string;
  value: SettingsDraft;
  onChange(next: SettingsDraft): void;
  errors: FieldErrors;
  /** Explain each field under it: the wizard does, for an admin who meets them for the first time. */
  hints?: boolean;
}

/** The fields only; the caller lays them out (in a row, with its own fields beside them). */
export function CampaignSettingsFields({ idBase, value, onChange, errors, hints = false }: Props) {
  return SETTINGS_KEYS.map((key) => {
    const meta = META[key];
    return (
      <TextField
        key={key}
        id={`${idBase}-${meta.id}`}
        label={meta.label}
        type="number"
        min={1}
        max={meta.max}
        value={value[key]}
        onChange={(text) => onChange({ ...value, [key]: text })}
        errors={errors[key]}
        hint={hints ? meta.hint : undefined}
        className="adm-narrow"
      />
    );
  });
}
