/** Campaign members and their roles; adding a user who is already a member changes the role. */
import { useId, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { ErrorMessage } from "../ErrorMessage";
import { FieldError, OtherErrors, describedBy, fieldErrorsOf } from "./fields";
import { adminKeys, membersQuery, type Role } from "./adminQueries";

const ROLES: { value: Role; label: string; hint: string }[] = [
  { value: "annotator", label: "Annotator", hint: "labels items" },
  { value: "viewer", label: "Viewer", hint: "sees the dashboard and scores" },
  { value: "admin", label: "Admin", hint: "manages the campaign" },
];

export function MembersPanel({ campaignId }: { campaignId: number }) {
  const uid = useId();
  const qc = useQueryClient();
  const members = useQuery(membersQuery(campaignId));
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<Role>("annotator");

  const save = useMutation({
    mutationFn: (body: { username: string; role: Role }) =>
      unwrap(api.POST("/api/campaigns/{id}/members/", { params: { path: { id: campaignId } }, body })),
    onSuccess: (_m, vars) => {
      void qc.invalidateQueries({ queryKey: adminKeys.members(campaignId) });
      if (vars.username === username) setUsername("");
    },
  });
  const errors = fieldErrorsOf(save.error);

  return (
    <div className="adm-stack">
      <form
        className="adm-row adm-align-end"
        aria-label="Add a member"
        onSubmit={(e) => {
          e.preventDefault();
          if (username.trim()) save.mutate({ username: username.trim(), role });
        }}
      >
        <div className="adm-field">
          <label htmlFor={`${uid}-user`}>Username</label>
          <input
            {...describedBy(`${uid}-user`, errors.username)}
            className="adm-input"
            autoComplete="off"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
          <FieldError id={`${uid}-user`} errors={errors.username} />
        </div>
        <div className="adm-field">
          <label htmlFor={`${uid}-role`}>Role</label>
          <select
            {...describedBy(`${uid}-role`, errors.role)}
            className="adm-input"
            value={role}
            onChange={(e) => setRole(e.target.value as Role)}
          >
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label} — {r.hint}
              </option>
            ))}
          </select>
          <FieldError id={`${uid}-role`} errors={errors.role} />
        </div>
        <div className="adm-field">
          <button type="submit" className="btn btn-primary" disabled={save.isPending || !username.trim()}>
            Add member
          </button>
        </div>
      </form>
      <OtherErrors errors={errors} shown={new Set(["username", "role"])} />
      {save.error && Object.keys(errors).length === 0 && <ErrorMessage error={save.error} />}
      {members.error && <ErrorMessage error={members.error} />}
      {members.data && (
        <div className="adm-table-wrap">
          <table className="adm-table">
            <caption>
              {members.data.length} member{members.data.length === 1 ? "" : "s"}
            </caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {members.data.map((m) => (
                <tr key={m.user}>
                  <td>{m.username}</td>
                  <td>
                    <select
                      className="adm-input adm-input-auto"
                      aria-label={`Role of ${m.username}`}
                      value={m.role}
                      disabled={save.isPending}
                      onChange={(e) => save.mutate({ username: m.username, role: e.target.value as Role })}
                    >
                      {ROLES.map((r) => (
                        <option key={r.value} value={r.value}>
                          {r.label}
                        </option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
