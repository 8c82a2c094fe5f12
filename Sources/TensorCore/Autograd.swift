// Reverse-mode automatic differentiation over a graph of Tensors.
//
// Each op computes its output and, while recording, links the output to its inputs
// together with a closure that maps the output gradient to the inputs' gradients.
// `backward()` orders the graph topologically and runs those closures in reverse.
// Inside `Autograd.inference { ... }` nothing is recorded, so decode pays no tape cost.

public enum Autograd {
    /// Whether ops currently link their outputs into the graph. Task-local (and so
    /// per thread outside tasks): one task's inference mode never affects another's.
    @TaskLocal public static var isRecording = true

    /// Runs `body` with recording off (like `torch.no_grad()`), restoring the previous mode.
    public static func inference<R>(_ body: () throws -> R) rethrows -> R {
        try $isRecording.withValue(false) { try body() }
    }

    /// Links `output` to `inputs` if recording and any input needs a gradient.
    /// `backward` receives the output gradient and must accumulate into the inputs
    /// that `requiresGrad` (use `Tensor.accumulateGrad`). It may capture the inputs, but
    /// must capture `output` only `unowned`: the output owns the closure, and a strong
    /// capture would be a cycle that keeps every graph alive forever.
    @usableFromInline
    static func record(_ output: Tensor, op: String, inputs: [Tensor], backward: @escaping ([Float]) -> Void) {
        output.op = op
        guard isRecording, inputs.contains(where: { $0.requiresGrad }) else { return }
        output.requiresGrad = true
        output.parents = inputs
        output.backwardFn = backward
    }
}

extension Tensor {
    /// Back-propagates from this scalar. Leaf gradients accumulate (`+=`) across calls;
    /// the gradients of intermediate results are released as soon as they are used,
    /// so a second `backward()` through a shared subgraph does not double count.
    public func backward(_ seed: Float = 1) {
        precondition(count == 1, "backward() needs a scalar, got shape \(shape)")
        precondition(requiresGrad, "backward() on a tensor that does not require grad (op \(op))")
        let order = topologicalOrder()
        accumulateGrad([seed])
        for node in order.reversed() {
            guard let fn = node.backwardFn else { continue }
            guard let g = node.grad else { continue }
            node.grad = nil
            fn(g)
        }
    }

    /// Nodes reachable from self, every node after all of its parents.
    /// Iterative, because a long training graph would overflow a recursive walk.
    func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            let id = ObjectIdentifier(node)
            if visited.contains(id) { continue }
            visited.insert(id)
            stack.append((node, true))
            for p in node.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) {
                stack.append((p, false))
            }
        }
        return order
    }
}
