/**
 * New campaign wizard (staff only): name and instructions, rubric, overlap and lease, create and
 * import prompts, models and decoding, members, start generation → the dashboard.
 * Once created, the campaign id sits in the URL so that a reload continues where it was.
 */
import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { campaignQuery, keys, meQuery } from "../../api/queries";
import { ErrorMessage } from "../../components/ErrorMessage";
import { MarkdownField } from "../../components/admin/MarkdownField";
import { MembersPanel } from "../../components/admin/MembersPanel";
import { ModelPicker } from "../../components/admin/ModelPicker";
import { PromptImport } from "../../components/admin/PromptImport";
import { RubricEditor, type RubricChange } from "../../components/admin/RubricEditor";
import { StartGeneration, type JobOutcomes } from "../../components/admin/StartGeneration";
import { defaultRubricQuery, modelsQuery } from "../../components/admin/adminQueries";
import { CampaignSettingsFields, settingsValues, type SettingsDraft } from "../../components/admin/CampaignSettingsFields";
import { DecodingFields, decodingParams, emptyDecoding, type DecodingDraft } from "../../components/admin/decoding";
import { OtherErrors, TextField, errorsUnder, fieldErrorsOf, type FieldErrors } from "../../components/admin/fields";
import { parseRubric, type Rubric } from "../../components/admin/rubricDraft";
import { rubricProblems } from "../../components/admin/rubricChecks";
import "./admin.css";

const STEPS = [
  "Name and instructions",
  "Rubric",
  "Overlap and leases",
  "Create and import prompts",
  "Models and decoding",
  "Members",
  "Start generation",
] as const;
const CREATE_STEP = 3;

/** Which step shows a create error's field. */
function stepOf(field: string): number {
  if (field === "name" || field === "instructions") return 0;
  if (field === "rubric" || field.startsWith("rubric.") || field.startsWith("rubric[")) return 1;
  if (field === "overlap" || field === "lease_minutes" || field === "gold_rate") return 2;
  return CREATE_STEP;
}

export default function CampaignCreatePage() {
  const me = useQuery(meQuery);
  if (me.isPending) return <p className="muted pad">Loading…</p>;
  if (me.error) return <ErrorMessage error={me.error} />;
  if (!me.data.is_staff) {
    return (
      <section className="page">
        <h1>New campaign</h1>
        <p className="alert alert-warn">Only staff users can create campaigns. Ask an administrator.</p>
      </section>
    );
  }
  return <Wizard />;
}

function Wizard() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [search, setSearch] = useSearchParams();
  const campaignId = Number(search.get("campaign")) || null;
  const [localStep, setLocalStep] = useState(0);
  const step = campaignId ? Math.max(CREATE_STEP, Math.min(STEPS.length - 1, Number(search.get("step")) || CREATE_STEP)) : localStep;

  const goTo = (n: number) => {
    if (campaignId) setSearch({ campaign: String(campaignId), step: String(n) }, { replace: true });
    else setLocalStep(n);
    window.scrollTo?.({ top: 0 });
  };

  // Steps 1–3: the draft, sent once on create.
  const [name, setName] = useState("");
  const [instructions, setInstructions] = useState("");
  const defaultRubric = useQuery(defaultRubricQuery);
  const [rubricDraft, setRubricDraft] = useState<Rubric | null>(null);
  const rubric = rubricDraft ?? (defaultRubric.data ? parseRubric(defaultRubric.data) : null);
  const [settings, setSettings] = useState<SettingsDraft>({ overlap: "3", lease_minutes: "30" });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [nameMissing, setNameMissing] = useState(false);

  // Steps 5–7.
  const models = useQuery({ ...modelsQuery, enabled: !!campaignId });
  const [selected, setSelected] = useState<number[]>([]);
  const [decoding, setDecoding] = useState<DecodingDraft>(emptyDecoding);
  const [jobErrors, setJobErrors] = useState<FieldErrors>({});
  // Kept here so that going back to fix settings does not start the same job twice.
  const [outcomes, setOutcomes] = useState<JobOutcomes>({});
  const campaign = useQuery({ ...campaignQuery(campaignId ?? 0), enabled: !!campaignId, staleTime: 0 });

  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/campaigns/", {
          body: {
            name: name.trim(),
            instructions,
            rubric: rubric ?? undefined,
            ...settingsValues(settings),
          },
        }),
      ),
    onSuccess: (created) => {
      setErrors({});
      void qc.invalidateQueries({ queryKey: keys.campaigns, exact: true });
      setSearch({ campaign: String(created.id), step: String(CREATE_STEP) }, { replace: false });
    },
    onError: (error) => {
      const fields = fieldErrorsOf(error);
      setErrors(fields);
      const first = Math.min(...Object.keys(fields).map(stepOf), CREATE_STEP);
      if (first < CREATE_STEP) setLocalStep(first);
    },
  });

  const onRubricChange = (next: Rubric, changed: RubricChange) => {
    setRubricDraft(next);
    // Errors are by position: after a move they would point at the wrong dimension.
    const stale = changed === "all" ? "rubric" : `rubric.dimensions[${changed}]`;
    setErrors((prev) => Object.fromEntries(Object.entries(prev).filter(([k]) => !k.startsWith(stale))));
  };

  const rubricIssues = Object.keys(rubric ? rubricProblems(rubric) : {}).length;
  const [rubricBlocked, setRubricBlocked] = useState(false);

  const next = () => {
    if (step === 0 && !name.trim()) {
      setNameMissing(true);
      return;
    }
    if (step === 1 && rubricIssues > 0) {
      setRubricBlocked(true);
      return;
    }
    setRubricBlocked(false);
    goTo(step + 1);
  };

  const nameErrors = [...(nameMissing && !name.trim() ? ["Give the campaign a name."] : []), ...(errors.name ?? [])];
  const stepsWithErrors = new Set(Object.keys(errors).map(stepOf));
  if (rubricIssues > 0) stepsWithErrors.add(1);
  const created = !!campaignId;
  const chosenModels = (models.data ?? []).filter((m) => selected.includes(m.id));

  return (
    <section className="page adm-page">
      <h1>New campaign</h1>
      <nav aria-label="Steps" className="adm-steps">
        <ol>
          {STEPS.map((label, i) => {
            const reachable = created ? i >= CREATE_STEP : i <= CREATE_STEP;
            return (
              <li key={label} className={i === step ? "is-current" : i < step ? "is-done" : ""}>
                <button
                  type="button"
                  className="adm-step-btn"
                  aria-current={i === step ? "step" : undefined}
                  disabled={!reachable}
                  onClick={() => goTo(i)}
                >
                  <span className="adm-step-num">{i + 1}</span> {label}
                  {stepsWithErrors.has(i) && !created && (
                    <>
                      {" "}
                      <span className="adm-step-err">(needs a fix)</span>
                    </>
                  )}
                </button>
              </li>
            );
          })}
        </ol>
      </nav>

      <div className="panel adm-step-body">
        <h2>
          {step + 1}. {STEPS[step]}
        </h2>

        {step === 0 && (
          <div className="adm-form">
            <TextField
              id="wiz-name"
              label="Campaign name"
              value={name}
              onChange={setName}
              errors={nameErrors.length ? nameErrors : undefined}
              maxLength={200}
              required
              autoFocus
            />
            <MarkdownField
              id="wiz-instructions"
              label="Instructions for annotators (Markdown)"
              value={instructions}
              onChange={setInstructions}
              errors={errors.instructions}
              hint="Shown above every item in the workspace. Links and lists work; scripts and raw HTML are stripped."
            />
          </div>
        )}

        {step === 1 && (
          <div className="adm-form">
            <p className="hint">
              Starts from the default safety rubric. The server checks the rubric when the campaign is created;
              problems show up next to the fields.
            </p>
            {defaultRubric.error && <ErrorMessage error={defaultRubric.error} />}
            {!rubric && !defaultRubric.error && <p className="muted">Loading the default rubric…</p>}
            {rubric && (
              <>
                {rubricBlocked && rubricIssues > 0 && (
                  <p className="alert alert-error" role="alert">
                    {rubricIssues === 1 ? "One required question has" : `${rubricIssues} required questions have`} no label:
                    give {rubricIssues === 1 ? "it" : "each"} the text annotators read, or make it optional.
                  </p>
                )}
                <RubricEditor value={rubric} onChange={onRubricChange} errors={errors} />
                <div className="adm-actions">
                  <button
                    type="button"
                    className="btn"
                    disabled={!rubricDraft}
                    onClick={() => {
                      setRubricDraft(null);
                      setErrors((prev) => Object.fromEntries(Object.entries(prev).filter(([k]) => !k.startsWith("rubric"))));
                    }}
                  >
                    Reset to the default rubric
                  </button>
                </div>
              </>
            )}
          </div>
        )}

        {step === 2 && (
          <div className="adm-form adm-row">
            <CampaignSettingsFields idBase="wiz" value={settings} onChange={setSettings} errors={errors} hints />
          </div>
        )}

        {step === CREATE_STEP && !created && (
          <div className="adm-form">
            <dl className="adm-summary">
              <dt>Name</dt>
              <dd>{name.trim() || <span className="adm-error-text">missing</span>}</dd>
              <dt>Rubric</dt>
              <dd>{rubric ? `${rubric.dimensions.length} dimensions: ${rubric.dimensions.map((d) => d.name).join(", ")}` : "default"}</dd>
              <dt>Overlap · lease</dt>
              <dd>
                {settings.overlap} annotators per item · {settings.lease_minutes} minute leases
              </dd>
            </dl>
            <OtherErrors errors={errors} shown={new Set(Object.keys(errors).filter((k) => stepOf(k) < CREATE_STEP))} />
            {Object.keys(errors).some((k) => stepOf(k) < CREATE_STEP) && (
              <p className="adm-error-text" role="alert">
                The server found problems in the steps marked “needs a fix”.
              </p>
            )}
            {rubricIssues > 0 && (
              <p className="adm-error-text" role="alert">
                The rubric has a required question without a label: fix it in step 2 before creating the campaign.
              </p>
            )}
            {create.error && Object.keys(errors).length === 0 && <ErrorMessage error={create.error} />}
            <div className="adm-actions">
              <button
                type="button"
                className="btn btn-primary"
                disabled={create.isPending || !name.trim() || rubricIssues > 0}
                onClick={() => create.mutate()}
              >
                {create.isPending ? "Creating…" : "Create campaign"}
              </button>
            </div>
          </div>
        )}

        {step === CREATE_STEP && created && campaignId && (
          <div className="adm-form">
            <p className="adm-ok" role="status">
              Campaign “{campaign.data?.name ?? name}” is created{campaign.data ? ` (${campaign.data.status})` : ""}.{" "}
              {campaign.data && (
                <>
                  It has {campaign.data.counts.prompts ?? 0} prompt{campaign.data.counts.prompts === 1 ? "" : "s"}
                  {campaign.data.counts.private_prompts ? ` (${campaign.data.counts.private_prompts} private)` : ""}.
                </>
              )}
            </p>
            <PromptImport campaignId={campaignId} />
          </div>
        )}

        {step === 4 && campaignId && (
          <div className="adm-form">
            <ModelPicker selected={selected} onSelectedChange={setSelected} />
            <DecodingFields
              idBase="wiz-dec"
              legend="Decoding settings for the selected models (blank: the model's default)"
              value={decoding}
              onChange={setDecoding}
              errors={errorsUnder(jobErrors, "params.")}
            />
          </div>
        )}

        {step === 5 && campaignId && (
          <div className="adm-form">
            <p className="hint">You are the campaign's admin. Add annotators, and viewers who may see the dashboard.</p>
            <MembersPanel campaignId={campaignId} />
          </div>
        )}

        {step === 6 && campaignId && (
          <div className="adm-form">
            {campaign.data && !campaign.data.counts.prompts && (
              <p className="alert alert-warn">This campaign has no prompts yet: import some in step 4 first.</p>
            )}
            <StartGeneration
              campaignId={campaignId}
              models={chosenModels}
              params={decodingParams(decoding)}
              onErrors={setJobErrors}
              outcomes={outcomes}
              onOutcomes={setOutcomes}
              onAllStarted={() => navigate(`/campaigns/${campaignId}`)}
            />
            {Object.keys(errorsUnder(jobErrors, "params.")).length > 0 && (
              <p className="hint">
                <button type="button" className="btn btn-link" onClick={() => goTo(4)}>
                  Fix the decoding settings in step 5
                </button>
              </p>
            )}
            <p className="hint">
              Or skip generation: <Link to={`/campaigns/${campaignId}`}>open the dashboard</Link>.
            </p>
          </div>
        )}

        <div className="adm-wizard-nav">
          <button
            type="button"
            className="btn"
            onClick={() => goTo(step - 1)}
            disabled={step === 0 || (created && step === CREATE_STEP)}
          >
            Back
          </button>
          {step < STEPS.length - 1 && step !== CREATE_STEP && (
            <button type="button" className="btn btn-primary" onClick={next}>
              Next
            </button>
          )}
          {step === CREATE_STEP && created && (
            <button type="button" className="btn btn-primary" onClick={next}>
              Next: models
            </button>
          )}
        </div>
      </div>
    </section>
  );
}
