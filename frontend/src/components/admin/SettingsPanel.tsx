/** Campaign settings for admins: sends only what changed (PATCH) and shows the server's errors. */
import { useId, useState } from "react";
import { useMutation, useQueryClient, type UseMutationResult } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../api/client";
import { keys } from "../../api/queries";
import { ErrorMessage } from "../ErrorMessage";
import { CampaignSettingsFields, SETTINGS_KEYS, settingsDraft } from "./CampaignSettingsFields";
import { MarkdownField } from "./MarkdownField";
import { FieldError, OtherErrors, SaveActions, TextField, describedBy, fieldErrorsOf } from "./fields";
import type { CampaignStatus } from "./adminQueries";

type CampaignDetail = Schemas["CampaignDetail"];
type Patch = Schemas["PatchedCampaignUpdateRequest"];

/** The moves the server allows (labeling/services/campaigns.py). */
const NEXT_STATUS: Record<CampaignStatus, CampaignStatus[]> = {
  draft: ["labeling", "closed"],
  generating: ["labeling", "closed"],
  labeling: ["closed"],
  closed: ["labeling"],
};

const STATUS_HINT: Record<CampaignStatus, string> = {
  draft: "not open to annotators",
  generating: "outputs are being generated",
  labeling: "open to annotators",
  closed: "no more labels are taken",
};

export function SettingsPanel({ campaign }: { campaign: CampaignDetail }) {
  const qc = useQueryClient();
  const save = useMutation({
    mutationFn: (body: Patch) =>
      unwrap(api.PATCH("/api/campaigns/{id}/", { params: { path: { id: campaign.id } }, body })),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: keys.campaign(campaign.id), exact: true });
      void qc.invalidateQueries({ queryKey: keys.campaigns, exact: true });
      // Overlap changes what "complete" means.
      void qc.invalidateQueries({ queryKey: [...keys.campaign(campaign.id), "dashboard"] });
    },
  });
  // A fresh form whenever the campaign changes on the server; the mutation outlives it.
  return <SettingsForm key={campaign.updated_at} campaign={campaign} save={save} />;
}

type SaveMutation = UseMutationResult<Schemas["Campaign"], Error, Patch>;

function SettingsForm({ campaign, save }: { campaign: CampaignDetail; save: SaveMutation }) {
  const uid = useId();
  const [name, setName] = useState(campaign.name);
  const [instructions, setInstructions] = useState(campaign.instructions);
  const [settings, setSettings] = useState(() => settingsDraft(campaign));
  const [status, setStatus] = useState<CampaignStatus>(campaign.status);

  const patch: Patch = {};
  if (name !== campaign.name) patch.name = name;
  if (instructions !== campaign.instructions) patch.instructions = instructions;
  const saved = settingsDraft(campaign);
  for (const key of SETTINGS_KEYS) if (settings[key] !== saved[key]) patch[key] = Number(settings[key]);
  if (status !== campaign.status) patch.status = status;
  const dirty = Object.keys(patch).length > 0;

  const errors = fieldErrorsOf(save.error);
  const shown = new Set(["name", "instructions", ...SETTINGS_KEYS, "status"]);
  const statuses: CampaignStatus[] = [campaign.status, ...NEXT_STATUS[campaign.status]];

  return (
    <form
      className="adm-form"
      aria-label="Campaign settings"
      onSubmit={(e) => {
        e.preventDefault();
        if (dirty) save.mutate(patch);
      }}
    >
      <TextField id={`${uid}-name`} label="Name" value={name} onChange={setName} errors={errors.name} maxLength={200} required />
      <MarkdownField
        id={`${uid}-instructions`}
        label="Instructions for annotators (Markdown)"
        value={instructions}
        onChange={setInstructions}
        errors={errors.instructions}
        rows={8}
      />
      <div className="adm-row">
        <CampaignSettingsFields idBase={uid} value={settings} onChange={setSettings} errors={errors} />
        <div className="adm-field adm-narrow">
          <label htmlFor={`${uid}-status`}>Status</label>
          <select
            {...describedBy(`${uid}-status`, errors.status, true)}
            className="adm-input"
            value={status}
            onChange={(e) => setStatus(e.target.value as CampaignStatus)}
          >
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s === campaign.status ? `${s} (now)` : `→ ${s}`}
              </option>
            ))}
          </select>
          <p className="hint" id={`${uid}-status-hint`}>
            {STATUS_HINT[status]}
          </p>
          <FieldError id={`${uid}-status`} errors={errors.status} />
        </div>
      </div>
      <OtherErrors errors={errors} shown={shown} />
      {save.error && Object.keys(errors).length === 0 && <ErrorMessage error={save.error} />}
      <SaveActions label="Save settings" dirty={dirty} pending={save.isPending} saved={save.isSuccess} />
    </form>
  );
}
