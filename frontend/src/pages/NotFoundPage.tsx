import { Link } from "react-router-dom";

export default function NotFoundPage() {
  return (
    <section className="page">
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to my campaigns</Link>
      </p>
    </section>
  );
}
