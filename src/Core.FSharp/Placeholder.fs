namespace Functional.NN
/// placeholder
type Placeholder = | P
