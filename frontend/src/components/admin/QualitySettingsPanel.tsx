/**
 * Quality control and queue settings of a campaign: gold, consensus method, pause threshold,
 * active-learning order and retraining cadence. Sends only what changed (PATCH).
 */
import { useId, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";
import { keys } from "../../api/queries";
import { ErrorMessage } from "../ErrorMessage";
import { FieldError, OtherErrors, SaveActions, TextField, describedBy, fieldErrorsOf } from "./fields";

type CampaignDetail = Schemas["CampaignDetail"];
type Patch = Schemas["PatchedCampaignUpdateRequest"];

type NumberKey = "gold_rate" | "gold_min_accuracy" | "gold_min_answers" | "random_share" | "retrain_every";
type ChoiceKey = "consensus_method" | "queue_strategy";

interface NumberSpec {
  key: NumberKey;
  label: string;
  min: number;
  max: number;
  step: number;
  hint: string;
}

const NUMBERS: NumberSpec[] = [
  { key: "gold_rate", label: "Gold rate", min: 0, max: 1, step: 0.01, hint: "share of picks that are gold items" },
  {
    key: "gold_min_accuracy",
    label: "Pause below gold accuracy",
    min: 0,
    max: 1,
    step: 0.01,
    hint: "an annotator under this is paused",
  },
  { key: "gold_min_answers", label: "Gold answers before a pause", min: 1, max: 1000, step: 1, hint: "" },
  {
    key: "random_share",
    label: "Random share",
    min: 0,
    max: 1,
    step: 0.05,
    hint: "picks kept random under uncertainty, for unbiased estimates",
  },
  { key: "retrain_every", label: "Retrain every N labels", min: 0, max: 1_000_000, step: 1, hint: "0: only by hand" },
];

const CHOICES: { key: ChoiceKey; label: string; options: [string, string][] }[] = [
  {
    key: "consensus_method",
    label: "Consensus method",
    options: [
      ["dawid_skene", "Dawid-Skene"],
      ["one_coin", "One-coin Dawid-Skene"],
      ["glad", "GLAD"],
      ["mace", "MACE"],
      ["wawa", "Wawa"],
      ["majority", "Majority vote"],
    ],
  },
  {
    key: "queue_strategy",
    label: "Queue order",
    options: [
      ["random", "Random"],
      ["uncertainty", "Classifier uncertainty"],
    ],
  },
];

const KEYS = [...NUMBERS.map((n) => n.key), ...CHOICES.map((c) => c.key)];

function initial(c: CampaignDetail): Record<string, string | undefined> {
  return Object.fromEntries(KEYS.map((k) => [k, String(c[k])]));
}

export function QualitySettingsPanel({ campaign }: { campaign: CampaignDetail }) {
  const qc = useQueryClient();
  const save = useMutation({
    mutationFn: (body: Patch) =>
      unwrap(api.PATCH("/api/campaigns/{id}/", { params: { path: { id: campaign.id } }, body })),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: keys.campaign(campaign.id), exact: true });
    },
  });
  const uid = useId();
  const [values, setValues] = useState(() => initial(campaign));
  const saved = initial(campaign);
  const patch: Record<string, string | number> = {};
  for (const n of NUMBERS) if (values[n.key] !== saved[n.key]) patch[n.key] = Number(values[n.key]);
  for (const c of CHOICES) if (values[c.key] !== saved[c.key]) patch[c.key] = values[c.key] ?? "";
  const dirty = Object.keys(patch).length > 0;
  const errors = fieldErrorsOf(save.error);
  const set = (key: string) => (v: string) => setValues((old) => ({ ...old, [key]: v }));

  return (
    <form
      className="adm-form"
      aria-label="Quality and queue settings"
      onSubmit={(e) => {
        e.preventDefault();
        if (dirty) save.mutate(patch as Patch);
      }}
    >
      <div className="adm-row">
        {CHOICES.map((c) => (
          <div className="adm-field adm-narrow" key={c.key}>
            <label htmlFor={`${uid}-${c.key}`}>{c.label}</label>
            <select
              {...describedBy(`${uid}-${c.key}`, errors[c.key], false)}
              className="adm-input"
              value={values[c.key] ?? ""}
              onChange={(e) => set(c.key)(e.target.value)}
            >
              {c.options.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
            <FieldError id={`${uid}-${c.key}`} errors={errors[c.key]} />
          </div>
        ))}
      </div>
      <div className="adm-row">
        {NUMBERS.map((n) => (
          <TextField
            key={n.key}
            id={`${uid}-${n.key}`}
            label={n.label}
            type="number"
            min={n.min}
            max={n.max}
            step={n.step}
            value={values[n.key] ?? ""}
            onChange={set(n.key)}
            errors={errors[n.key]}
            hint={n.hint || undefined}
            className="adm-narrow"
          />
        ))}
      </div>
      <OtherErrors errors={errors} shown={new Set(KEYS)} />
      {save.error && Object.keys(errors).length === 0 && <ErrorMessage error={save.error} />}
      <SaveActions label="Save quality settings" dirty={dirty} pending={save.isPending} saved={save.isSuccess} />
    </form>
  );
}
