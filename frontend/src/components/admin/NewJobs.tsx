/** Models, decoding settings and the start button: the wizard's last steps, reused on the dashboard. */
import { useId, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { DecodingFields, decodingParams, emptyDecoding, type DecodingDraft } from "./decoding";
import { errorsUnder, type FieldErrors } from "./fields";
import { ModelPicker } from "./ModelPicker";
import { StartGeneration } from "./StartGeneration";
import { modelsQuery } from "./adminQueries";

export function NewJobs({ campaignId, onStarted }: { campaignId: number; onStarted: () => void }) {
  const uid = useId();
  const models = useQuery(modelsQuery);
  const [selected, setSelected] = useState<number[]>([]);
  const [decoding, setDecoding] = useState<DecodingDraft>(emptyDecoding);
  const [errors, setErrors] = useState<FieldErrors>({});
  const chosen = (models.data ?? []).filter((m) => selected.includes(m.id));
  return (
    <div className="adm-stack">
      <ModelPicker selected={selected} onSelectedChange={setSelected} />
      <DecodingFields idBase={`${uid}-dec`} value={decoding} onChange={setDecoding} errors={errorsUnder(errors, "params.")} />
      <StartGeneration
        campaignId={campaignId}
        models={chosen}
        params={decodingParams(decoding)}
        onErrors={setErrors}
        onAllStarted={() => {
          setSelected([]);
          onStarted();
        }}
      />
    </div>
  );
}
