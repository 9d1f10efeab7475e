/**
 * Campaign admins: care for the people who label. Content warning (Markdown), blurring of likely
 * harmful outputs, daily exposure limits, break reminders, and the hazard categories annotators
 * may opt out of. Sends only what changed (PATCH) and shows the server's errors by each field.
 */
import { useId, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";
import { keys } from "../api/queries";
import { ErrorMessage } from "../components/ErrorMessage";
import { MarkdownField } from "../components/admin/MarkdownField";
import { FieldError, OtherErrors, SaveActions, TextField, describedBy, fieldErrorsOf } from "../components/admin/fields";

type CampaignDetail = Schemas["CampaignDetail"];
type Patch = Schemas["PatchedCampaignUpdateRequest"];

const NUMBERS = [
  { key: "blur_threshold", label: "Blur at harm probability ≥", min: 0, max: 1, step: 0.05, hint: "for “likely harmful”" },
  { key: "daily_item_limit", label: "Items per annotator per day", min: 0, max: 100000, step: 1, hint: "0: no limit" },
  { key: "daily_minute_limit", label: "Minutes per annotator per day", min: 0, max: 1440, step: 1, hint: "0: no limit" },
  { key: "break_every_minutes", label: "Break reminder every (minutes)", min: 0, max: 1440, step: 1, hint: "0: never" },
] as const;
type NumberKey = (typeof NUMBERS)[number]["key"];

const BLUR_OPTIONS: [CampaignDetail["blur_outputs"], string][] = [
  ["off", "Never"],
  ["likely_harmful", "Likely harmful (by the classifier; unscored too)"],
  ["all", "Every output"],
];

interface Draft {
  content_warning: string;
  blur_outputs: CampaignDetail["blur_outputs"];
  numbers: Record<NumberKey, string>;
  categories: string;
}

function draftOf(c: CampaignDetail): Draft {
  return {
    // Older answers (and test fixtures) may lack the care fields: their defaults then.
    content_warning: c.content_warning ?? "",
    blur_outputs: c.blur_outputs ?? "off",
    numbers: Object.fromEntries(NUMBERS.map((n) => [n.key, String(c[n.key] ?? (n.key === "blur_threshold" ? 0.5 : 0))])) as Record<
      NumberKey,
      string
    >,
    categories: (c.hazard_categories ?? []).join("\n"),
  };
}

/** One category a line; blank lines dropped (duplicates are the server's to refuse). */
function categoriesOf(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

export function CareSettingsPanel({ campaign }: { campaign: CampaignDetail }) {
  const qc = useQueryClient();
  const save = useMutation({
    mutationFn: (body: Patch) =>
      unwrap(api.PATCH("/api/campaigns/{id}/", { params: { path: { id: campaign.id } }, body })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: keys.campaign(campaign.id), exact: true }),
  });
  return <CareForm key={campaign.updated_at} campaign={campaign} save={save} />;
}

function CareForm({
  campaign,
  save,
}: {
  campaign: CampaignDetail;
  save: { mutate(p: Patch): void; error: unknown; isPending: boolean; isSuccess: boolean };
}) {
  const uid = useId();
  const [draft, setDraft] = useState(() => draftOf(campaign));
  const saved = draftOf(campaign);
  const patch: Patch = {};
  if (draft.content_warning !== saved.content_warning) patch.content_warning = draft.content_warning;
  if (draft.blur_outputs !== saved.blur_outputs) patch.blur_outputs = draft.blur_outputs;
  for (const n of NUMBERS) if (draft.numbers[n.key] !== saved.numbers[n.key]) patch[n.key] = Number(draft.numbers[n.key]);
  const categories = categoriesOf(draft.categories);
  if (categories.join("\n") !== saved.categories) patch.hazard_categories = categories;
  const dirty = Object.keys(patch).length > 0;
  const errors = fieldErrorsOf(save.error);
  const categoryErrors = Object.entries(errors)
    .filter(([k]) => k === "hazard_categories" || k.startsWith("hazard_categories."))
    .flatMap(([k, v]) => (k === "hazard_categories" ? v : v.map((r) => `line ${Number(k.split(".")[1]) + 1}: ${r}`)));
  const shown = new Set([
    "content_warning",
    "blur_outputs",
    ...NUMBERS.map((n) => n.key),
    ...Object.keys(errors).filter((k) => k.startsWith("hazard_categories")),
  ]);

  return (
    <form
      className="adm-form"
      aria-label="Care for annotators"
      onSubmit={(e) => {
        e.preventDefault();
        if (dirty) save.mutate(patch);
      }}
    >
      <MarkdownField
        id={`${uid}-warning`}
        label="Content warning (Markdown; shown once to each annotator before their first item)"
        value={draft.content_warning}
        onChange={(v) => setDraft({ ...draft, content_warning: v })}
        errors={errors.content_warning}
        rows={4}
      />
      <div className="adm-row">
        <div className="adm-field adm-narrow">
          <label htmlFor={`${uid}-blur`}>Blur outputs</label>
          <select
            {...describedBy(`${uid}-blur`, errors.blur_outputs, false)}
            className="adm-input"
            value={draft.blur_outputs}
            onChange={(e) => setDraft({ ...draft, blur_outputs: e.target.value as Draft["blur_outputs"] })}
          >
            {BLUR_OPTIONS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
          <FieldError id={`${uid}-blur`} errors={errors.blur_outputs} />
        </div>
        {NUMBERS.map((n) => (
          <TextField
            key={n.key}
            id={`${uid}-${n.key}`}
            label={n.label}
            type="number"
            min={n.min}
            max={n.max}
            step={n.step}
            value={draft.numbers[n.key]}
            onChange={(v) => setDraft({ ...draft, numbers: { ...draft.numbers, [n.key]: v } })}
            errors={errors[n.key]}
            hint={n.hint}
            className="adm-narrow"
          />
        ))}
      </div>
      <div className="adm-field">
        <label htmlFor={`${uid}-categories`}>Hazard categories annotators may opt out of (one per line)</label>
        <textarea
          {...describedBy(`${uid}-categories`, categoryErrors, true)}
          className="adm-input"
          rows={3}
          value={draft.categories}
          onChange={(e) => setDraft({ ...draft, categories: e.target.value })}
        />
        <p className="hint" id={`${uid}-categories-hint`}>
          Matched against each prompt's category (the import's <code>category</code> column). Empty: no opting out.
        </p>
        <FieldError id={`${uid}-categories`} errors={categoryErrors} />
      </div>
      <OtherErrors errors={errors} shown={shown} />
      {!!save.error && Object.keys(errors).length === 0 && <ErrorMessage error={save.error} />}
      <SaveActions label="Save care settings" dirty={dirty} pending={save.isPending} saved={save.isSuccess} />
    </form>
  );
}
