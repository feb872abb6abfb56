//! Socket set-up that is part of the experiment.
