import { lazy, Suspense, useEffect } from "react";
import { Link, Route, Routes } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { ApiError, loginUrl, readCookie } from "./api/client";
import { meQuery } from "./api/queries";
import MyCampaignsPage from "./pages/MyCampaignsPage";
import WorkspacePage from "./pages/WorkspacePage";
import NotFoundPage from "./pages/NotFoundPage";

// Admin pages (and any chart library they import) load on demand, off the annotator's path.
const CampaignCreatePage = lazy(() => import("./pages/admin/CampaignCreatePage"));
const CampaignDashboardPage = lazy(() => import("./pages/admin/CampaignDashboardPage"));
const QualityPage = lazy(() => import("./pages/admin/QualityPage"));
const ReviewPage = lazy(() => import("./pages/admin/ReviewPage"));
const ClassifierPage = lazy(() => import("./pages/admin/ClassifierPage"));
const CleaningPage = lazy(() => import("./pages/admin/CleaningPage"));
const LeaderboardPage = lazy(() => import("./pages/LeaderboardPage"));
const ModelPage = lazy(() => import("./pages/ModelPage"));

export default function App() {
  const me = useQuery(meQuery);

  useEffect(() => {
    if (me.error instanceof ApiError && (me.error.status === 401 || me.error.status === 403)) {
      window.location.assign(loginUrl());
    }
  }, [me.error]);

  return (
    <div className="app">
      <header className="topbar">
        <Link to="/" className="brand">
          Assay
        </Link>
        <nav className="topbar-nav" aria-label="Main">
          <Link to="/">My campaigns</Link>
          <Link to="/leaderboard">Leaderboard</Link>
          {me.data?.is_staff && <Link to="/campaigns/new">New campaign</Link>}
        </nav>
        {me.data && (
          <div className="topbar-user">
            <span>{me.data.username}</span>
            <LogoutButton />
          </div>
        )}
      </header>
      <main className="main">
        <Suspense fallback={<p className="muted pad">Loading…</p>}>
          <Routes>
            <Route path="/" element={<MyCampaignsPage />} />
            <Route path="/campaigns/new" element={<CampaignCreatePage />} />
            <Route path="/campaigns/:id/label" element={<WorkspacePage />} />
            <Route path="/campaigns/:id/classifier" element={<ClassifierPage />} />
            <Route path="/campaigns/:id" element={<CampaignDashboardPage />} />
            <Route path="/campaigns/:id/quality" element={<QualityPage />} />
            <Route path="/campaigns/:id/review" element={<ReviewPage />} />
            <Route path="/cleaning" element={<CleaningPage />} />
            <Route path="/cleaning/:id" element={<CleaningPage />} />
            <Route path="/leaderboard" element={<LeaderboardPage />} />
            <Route path="/models/:id" element={<ModelPage />} />
            <Route path="*" element={<NotFoundPage />} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}

/** A plain form post, so Django's LogoutView answers the browser directly. */
function LogoutButton() {
  return (
    <form method="post" action="/accounts/logout/" className="inline-form">
      <input type="hidden" name="csrfmiddlewaretoken" value={readCookie("csrftoken") ?? ""} />
      <button type="submit" className="btn btn-link">
        Log out
      </button>
    </form>
  );
}
