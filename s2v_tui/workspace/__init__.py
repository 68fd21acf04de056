"""The layer every front end shares (studio, `s2v --run`, `s2v serve`): reading stories, opening or
creating projects with validated options, and turning a finished run into an outcome. Front ends add
only their own input and output; none imports another."""
