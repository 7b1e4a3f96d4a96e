package refstore

// JobKind tells Wordbee's two kinds of jobs apart. A job is a workflow step on a project
// that covers some of its documents; each kind has its own id space, so a job id means
// nothing without its kind: standard job 50 and Codyt job 50 are two different jobs.
type JobKind uint8

const (
	// StandardJob is a job of a standard project, Wordbee's workflow with limited
	// automation. Its scope is written jbs{id}.
	StandardJob JobKind = iota + 1
	// CodytJob is a job of a Codyt project: Wordbee's fully automated workflow projects
	// (their jobs have an id space of their own, and Wordbee lists them apart). Flex
	// documents belong to Codyt projects. Its scope is written jbc{id}, or c{id} on the
	// Flex routes.
	CodytJob
)

// JobKindOf returns the kind the catalog's codyt flag names.
func JobKindOf(codyt bool) JobKind {
	if codyt {
		return CodytJob
	}
	return StandardJob
}

// IsCodyt reports whether k is CodytJob, as the catalog's codyt flag and the store's
// column say it.
func (k JobKind) IsCodyt() bool { return k == CodytJob }

// String names the kind as the scope notation's prefix does.
func (k JobKind) String() string {
	switch k {
	case StandardJob:
		return "jbs"
	case CodytJob:
		return "jbc"
	}
	return "job kind ?"
}

// Scope returns the scope of the job of this kind with the given id.
func (k JobKind) Scope(id int64) Scope {
	if k == CodytJob {
		return Scope{Kind: ScopeCodytJob, ID: id}
	}
	return Scope{Kind: ScopeStandardJob, ID: id}
}

// JobKind returns the kind of job a job scope names (0 for other scopes).
func (s Scope) JobKind() JobKind {
	switch s.Kind {
	case ScopeStandardJob:
		return StandardJob
	case ScopeCodytJob:
		return CodytJob
	}
	return 0
}

// JobKind returns the kind of the job.
func (j CatalogJob) JobKind() JobKind { return JobKindOf(j.Codyt) }

// JobKind returns the kind of the granted job (meaningful when JobID is set).
func (g CatalogGrant) JobKind() JobKind { return JobKindOf(g.Codyt) }
