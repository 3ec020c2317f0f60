// esmm-lab's own TensorFlow kernels for the native backend (tfjs-node), built by `make native`
// (scripts/install-native.sh, step 5) against the headers of the tensorflow-cpu wheel whose C library the
// binding runs on, into native/esmm-kernels.node. Loaded by lib/backend/native-kernels.ts after tfjs-node:
// loading the library registers the ops below in TensorFlow's global registry, and the binding runs them by
// name like any other op (NodeJSKernelBackend.executeMultipleOutputs). The file is also a Node addon (an
// empty one) so that Node's process.dlopen loads it and keeps it loaded.
//
// Every kernel computes exactly what the chain of TensorFlow ops it replaces computes, bit for bit: the same
// float32 operations in the same order, each rounded (built with -ffp-contract=off: no fused multiply-add;
// +, *, / and sqrt are correctly rounded in every instruction set the loop is compiled for; -fno-math-errno only
// lets sqrt be a vector instruction, its values are the same). Checked against
// the chain by test/native-kernels.test.ts.

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;

// ---- EsmmAdam: one Adam step of a flat vector, in one pass ------------------------------------------------
// Replaces lib/train/adam.ts' twelve elementwise ops (each a pass over the vector):
//   m' = m b1 + g (1 - b1),  v' = v b2 + (g g) (1 - b2),  p' = p + (m' / (sqrt(v') + eps_t)) lr_t
// with lr_t = -lr sqrt(1 - b2^t) / (1 - b1^t) and eps_t = eps sqrt(1 - b2^t) (adamStepConstants). Inputs p, m,
// v, g: float32 of one size (any shape); outputs p', m', v' in new buffers of p's shape (the inputs are never
// written: tfjs tensors share buffers).

REGISTER_OP("EsmmAdam")
    .Input("p: float")
    .Input("m: float")
    .Input("v: float")
    .Input("g: float")
    .Output("p_out: float")
    .Output("m_out: float")
    .Output("v_out: float")
    .Attr("adam: list(float)")  // b1, 1 - b1, b2, 1 - b2, lr_t, eps_t (ReadAdamConstants)
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      for (int i = 0; i < 3; i++) c->set_output(i, c->input(0));
      return absl::OkStatus();
    });

struct AdamConstants {
  float b1, one_minus_b1, b2, one_minus_b2, lr_t, eps_t;
};

// An Adam kernel's attribute `adam`: [b1, 1 - b1, b2, 1 - b2, lr_t, eps_t], each a float32.
absl::Status ReadAdamConstants(OpKernelConstruction* ctx, AdamConstants* c) {
  std::vector<float> a;
  TF_RETURN_IF_ERROR(ctx->GetAttr("adam", &a));
  if (a.size() != 6) return absl::InvalidArgumentError("attribute adam must be [b1, 1 - b1, b2, 1 - b2, lr_t, eps_t]");
  *c = AdamConstants{a[0], a[1], a[2], a[3], a[4], a[5]};
  return absl::OkStatus();
}

// One element of Adam's step, the one definition both Adam kernels use (each operation rounded to float32, in
// this order): m <- m b1 + g (1 - b1), v <- v b2 + (g g) (1 - b2); returns p + (m / (sqrt(v) + eps_t)) lr_t.
__attribute__((always_inline)) inline float AdamElement(float p, float& m, float& v, float g, const AdamConstants& c) {
  m = m * c.b1 + g * c.one_minus_b1;
  v = v * c.b2 + (g * g) * c.one_minus_b2;
  return p + (m / (std::sqrt(v) + c.eps_t)) * c.lr_t;
}

// Adam with weight decay, as the kernels that take `decay` (coupled, λ) and `shrink` (decoupled, lr λ) apply it;
// at most one of them is not 0 (lib/train/adam.ts weightDecayTerms).
struct DecayedAdam {
  AdamConstants c;
  float decay, shrink;
};

// A kernel's attributes `adam`, `decay` and `shrink`.
absl::Status ReadDecayedAdam(OpKernelConstruction* ctx, DecayedAdam* d) {
  TF_RETURN_IF_ERROR(ReadAdamConstants(ctx, &d->c));
  TF_RETURN_IF_ERROR(ctx->GetAttr("decay", &d->decay));
  return ctx->GetAttr("shrink", &d->shrink);
}

// One element with weight decay, the one definition of the kernels that take it (each operation rounded to
// float32, in this order, as lib/train/adam.ts' ops): p <- p - p shrink (only when shrink != 0), g <- g + p decay
// (only when decay != 0), then AdamElement.
__attribute__((always_inline)) inline float DecayedAdamElement(float p, float& m, float& v, float g, const DecayedAdam& d) {
  if (d.shrink != 0.0f) p = p - p * d.shrink;
  if (d.decay != 0.0f) g = g + p * d.decay;
  return AdamElement(p, m, v, g, d.c);
}

// The ids of a kernel's `ids` input: int32 [n] or [n, 1] (a column, as the lookups keep them).
bool IdsShape(const Tensor& ids) { return ids.dims() == 1 || (ids.dims() == 2 && ids.dim_size(1) == 1); }

// Checks every id is in [0, rows); the error names the first that is not.
absl::Status CheckIds(const char* op, const int32_t* id, int64_t n, int64_t rows) {
  for (int64_t i = 0; i < n; i++) {
    if (id[i] < 0 || id[i] >= rows) {
      return absl::InvalidArgumentError(std::string(op) + ": ids[" + std::to_string(i) + "] = " + std::to_string(id[i]) +
                                        " is not in [0, " + std::to_string(rows) + ")");
    }
  }
  return absl::OkStatus();
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void AdamLoop(
    const float* __restrict p, const float* __restrict m, const float* __restrict v, const float* __restrict g,
    float* __restrict p_out, float* __restrict m_out, float* __restrict v_out, int64_t n, AdamConstants c) {
  for (int64_t i = 0; i < n; i++) {
    float mi = m[i], vi = v[i];
    p_out[i] = AdamElement(p[i], mi, vi, g[i], c);
    m_out[i] = mi;
    v_out[i] = vi;
  }
}

class EsmmAdamOp : public OpKernel {
 public:
  explicit EsmmAdamOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ReadAdamConstants(ctx, &c_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& p = ctx->input(0);
    const int64_t n = p.NumElements();
    for (int i = 1; i < 4; i++) {
      OP_REQUIRES(ctx, ctx->input(i).NumElements() == n,
                  absl::InvalidArgumentError("EsmmAdam: p, m, v and g must have the same number of elements"));
    }
    Tensor* out[3];
    for (int i = 0; i < 3; i++) OP_REQUIRES_OK(ctx, ctx->allocate_output(i, p.shape(), &out[i]));
    AdamLoop(p.flat<float>().data(), ctx->input(1).flat<float>().data(), ctx->input(2).flat<float>().data(),
             ctx->input(3).flat<float>().data(), out[0]->flat<float>().data(), out[1]->flat<float>().data(),
             out[2]->flat<float>().data(), n, c_);
  }

 private:
  AdamConstants c_;
};

REGISTER_KERNEL_BUILDER(Name("EsmmAdam").Device(tensorflow::DEVICE_CPU), EsmmAdamOp);

// ---- EsmmAdamParts: EsmmAdam over a group's flat vector, its gradients and values in the variables' shapes ---
// Replaces lib/train/adam.ts' flat-group step around EsmmAdam: each gradient reshaped to 1-D and concatenated,
// the step, then the new flat vector split and each part reshaped to its variable's shape (2 N + 2 ops for N
// variables). Inputs: the group's flat p, m, v ([P]) and its N gradients, in the flat vector's order (sizes
// summing to P); outputs p', m', v' ([P], new buffers) and p' cut into the gradients' shapes. Per element
// DecayedAdamElement. Throws InvalidArgument when the sizes do not add up.

REGISTER_OP("EsmmAdamParts")
    .Input("p: float")
    .Input("m: float")
    .Input("v: float")
    .Input("grads: N * float")
    .Output("p_out: float")
    .Output("m_out: float")
    .Output("v_out: float")
    .Output("parts: N * float")
    .Attr("N: int >= 1")
    .Attr("adam: list(float)")  // b1, 1 - b1, b2, 1 - b2, lr_t, eps_t (ReadAdamConstants)
    .Attr("decay: float")
    .Attr("shrink: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      for (int i = 0; i < 3; i++) c->set_output(i, c->input(0));
      for (int i = 3; i < c->num_inputs(); i++) c->set_output(i, c->input(i));
      return absl::OkStatus();
    });

__attribute__((target_clones("avx512f", "avx2", "default"))) void AdamPartLoop(
    const float* __restrict p, const float* __restrict m, const float* __restrict v, const float* __restrict g,
    float* __restrict p_out, float* __restrict m_out, float* __restrict v_out, float* __restrict part, int64_t n,
    DecayedAdam a) {
  for (int64_t i = 0; i < n; i++) {
    float mi = m[i], vi = v[i];
    const float out = DecayedAdamElement(p[i], mi, vi, g[i], a);
    p_out[i] = out;
    m_out[i] = mi;
    v_out[i] = vi;
    part[i] = out;
  }
}

class EsmmAdamPartsOp : public OpKernel {
 public:
  explicit EsmmAdamPartsOp(OpKernelConstruction* ctx) : OpKernel(ctx) { OP_REQUIRES_OK(ctx, ReadDecayedAdam(ctx, &a_)); }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& p = ctx->input(0);
    const int64_t total = p.NumElements();
    OP_REQUIRES(ctx, ctx->input(1).NumElements() == total && ctx->input(2).NumElements() == total,
                absl::InvalidArgumentError("EsmmAdamParts: p, m and v must have the same number of elements"));
    const int n_parts = ctx->num_inputs() - 3;
    int64_t sum = 0;
    for (int k = 0; k < n_parts; k++) sum += ctx->input(3 + k).NumElements();
    OP_REQUIRES(ctx, sum == total,
                absl::InvalidArgumentError("EsmmAdamParts: the gradients have " + std::to_string(sum) +
                                           " elements, the flat vector " + std::to_string(total)));
    Tensor* out[3];
    for (int i = 0; i < 3; i++) OP_REQUIRES_OK(ctx, ctx->allocate_output(i, p.shape(), &out[i]));
    const float* pp = p.flat<float>().data();
    const float* mm = ctx->input(1).flat<float>().data();
    const float* vv = ctx->input(2).flat<float>().data();
    float* po = out[0]->flat<float>().data();
    float* mo = out[1]->flat<float>().data();
    float* vo = out[2]->flat<float>().data();
    int64_t offset = 0;
    for (int k = 0; k < n_parts; k++) {
      const Tensor& g = ctx->input(3 + k);
      Tensor* part;
      OP_REQUIRES_OK(ctx, ctx->allocate_output(3 + k, g.shape(), &part));
      const int64_t n = g.NumElements();
      AdamPartLoop(pp + offset, mm + offset, vv + offset, g.flat<float>().data(), po + offset, mo + offset, vo + offset,
                   part->flat<float>().data(), n, a_);
      offset += n;
    }
  }

 private:
  DecayedAdam a_;
};

REGISTER_KERNEL_BUILDER(Name("EsmmAdamParts").Device(tensorflow::DEVICE_CPU), EsmmAdamPartsOp);

// ---- EsmmSegmentSum: rows of data summed into num_segments rows ------------------------------------------
// Replaces TensorFlow's UnsortedSegmentSum for a float32 [n, d] data and int32 [n] ids (the gradient of an
// embedding lookup; ids [n, 1] taken as they are): out = zeros [num_segments, d]; for i = 0..n-1 in order: out[ids[i]] += data[i], each
// sum rounded to float32 as TensorFlow's kernel does (it also adds each segment's rows in input order, from 0).
// TensorFlow's kernel spends about 30 ns a row on per-row tensor expressions (2.5 ms for 82,000 rows of 8);
// this loop is a plain add. Throws InvalidArgument on an id outside [0, num_segments) or shapes that differ.

REGISTER_OP("EsmmSegmentSum")
    .Input("data: float")
    .Input("ids: int32")
    .Output("out: float")
    .Attr("num_segments: int >= 0")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      int64_t k;
      TF_RETURN_IF_ERROR(c->GetAttr("num_segments", &k));
      c->set_output(0, c->Matrix(k, c->Dim(c->input(0), 1)));
      return absl::OkStatus();
    });

__attribute__((target_clones("avx512f", "avx2", "default"))) void SegmentSumLoop(const float* data,
                                                                                  const int32_t* ids, float* out,
                                                                                  int64_t n, int64_t d) {
  for (int64_t i = 0; i < n; i++) {
    float* o = out + static_cast<int64_t>(ids[i]) * d;
    const float* x = data + i * d;
    for (int64_t j = 0; j < d; j++) o[j] = o[j] + x[j];
  }
}

class EsmmSegmentSumOp : public OpKernel {
 public:
  explicit EsmmSegmentSumOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("num_segments", &num_segments_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& data = ctx->input(0);
    const Tensor& ids = ctx->input(1);
    OP_REQUIRES(ctx, data.dims() == 2 && IdsShape(ids) && ids.dim_size(0) == data.dim_size(0),
                absl::InvalidArgumentError("EsmmSegmentSum: data must be [n, d] and ids [n] or [n, 1]"));
    const int64_t n = data.dim_size(0), d = data.dim_size(1);
    const int32_t* id = ids.flat<int32_t>().data();
    OP_REQUIRES_OK(ctx, CheckIds("EsmmSegmentSum", id, n, num_segments_));
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, tensorflow::TensorShape({num_segments_, d}), &out));
    float* o = out->flat<float>().data();
    std::fill(o, o + num_segments_ * d, 0.0f);
    SegmentSumLoop(data.flat<float>().data(), id, o, n, d);
  }

 private:
  int64_t num_segments_;
};

REGISTER_KERNEL_BUILDER(Name("EsmmSegmentSum").Device(tensorflow::DEVICE_CPU), EsmmSegmentSumOp);

// ---- EsmmGatherRows: rows of a table at ids ----------------------------------------------------------------
// Replaces TensorFlow's GatherNd for a float32 table [rows, d] and int32 ids [n, 1] (or [n]): out[i] = table[ids[i]],
// copied (so the same bits), the rows 16 ahead prefetched: an embedding lookup, and the rows a batch touches
// at 2M ids, where nearly every row misses the cache. Throws InvalidArgument on an id outside [0, rows).

REGISTER_OP("EsmmGatherRows")
    .Input("table: float")
    .Input("ids: int32")
    .Output("out: float")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->Matrix(c->Dim(c->input(1), 0), c->Dim(c->input(0), 1)));
      return absl::OkStatus();
    });

__attribute__((target_clones("avx512f", "avx2", "default"))) void GatherRowsLoop(const float* __restrict table,
                                                                                 const int32_t* __restrict ids,
                                                                                 float* __restrict out, int64_t n,
                                                                                 int64_t d) {
  constexpr int64_t kAhead = 16;
  for (int64_t i = 0; i < n; i++) {
    if (i + kAhead < n) __builtin_prefetch(table + static_cast<int64_t>(ids[i + kAhead]) * d, 0);
    const float* row = table + static_cast<int64_t>(ids[i]) * d;
    float* o = out + i * d;
    for (int64_t j = 0; j < d; j++) o[j] = row[j];
  }
}

class EsmmGatherRowsOp : public OpKernel {
 public:
  explicit EsmmGatherRowsOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}

  void Compute(OpKernelContext* ctx) override {
    const Tensor& table = ctx->input(0);
    const Tensor& ids = ctx->input(1);
    OP_REQUIRES(ctx, table.dims() == 2 && IdsShape(ids),
                absl::InvalidArgumentError("EsmmGatherRows: table [rows, d] and ids [n, 1] or [n]"));
    const int64_t rows = table.dim_size(0), d = table.dim_size(1), n = ids.dim_size(0);
    const int32_t* id = ids.flat<int32_t>().data();
    OP_REQUIRES_OK(ctx, CheckIds("EsmmGatherRows", id, n, rows));
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, tensorflow::TensorShape({n, d}), &out));
    GatherRowsLoop(table.flat<float>().data(), id, out->flat<float>().data(), n, d);
  }
};

REGISTER_KERNEL_BUILDER(Name("EsmmGatherRows").Device(tensorflow::DEVICE_CPU), EsmmGatherRowsOp);

// ---- EsmmLazyAdamRows: row-wise (lazy) Adam of an embedding table, in place ------------------------------
// Replaces lib/train/rowwise.ts' native op sequence (gather the moments' rows, the elementwise chain, then
// TensorFlow's InplaceUpdate for the moments and for the table, each preceded by a read-ahead gather). For each
// touched row r = ids[u] (distinct, not checked) and element j, with p = table[r, j], m | v = mv[r, j | dim + j]
// and g = grads[u, j], the same float32 operations in the same order as that sequence (DecayedAdamElement):
//   p <- p - p shrink (only when shrink != 0: decoupled decay),  g <- g + p decay (only when decay != 0),
//   m' = m b1 + g (1 - b1),  v' = v b2 + (g g) (1 - b2),  p' = p + (m' / (sqrt(v') + eps_t)) lr_t;
// then writes m' | v' into mv and p' into the table, in their own buffers (the caller makes sure nothing else
// shares them, as for InplaceUpdate: lib/train/rowwise.ts copies a shared buffer first). The rows 16 ahead
// are prefetched, so their cache and TLB misses overlap (at 2M ids nearly every row misses). No outputs.

REGISTER_OP("EsmmLazyAdamRows")
    .Input("table: float")
    .Input("mv: float")
    .Input("ids: int32")
    .Input("grads: float")
    .Attr("adam: list(float)")  // b1, 1 - b1, b2, 1 - b2, lr_t, eps_t (ReadAdamConstants)
    .Attr("decay: float")
    .Attr("shrink: float")
    .SetIsStateful()
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext*) { return absl::OkStatus(); });

__attribute__((target_clones("avx512f", "avx2", "default"))) void LazyAdamRowsLoop(
    float* table, float* mv, const int32_t* ids, const float* grads, int64_t u_count, int64_t d, DecayedAdam a) {
  constexpr int64_t kAhead = 16;
  for (int64_t u = 0; u < u_count; u++) {
    if (u + kAhead < u_count) {
      const int64_t ahead = ids[u + kAhead];
      __builtin_prefetch(table + ahead * d, 1);
      __builtin_prefetch(mv + ahead * 2 * d, 1);
      __builtin_prefetch(mv + ahead * 2 * d + d, 1);
    }
    const int64_t r = ids[u];
    float* p = table + r * d;
    float* m = mv + r * 2 * d;
    float* v = m + d;
    const float* g = grads + u * d;
    for (int64_t j = 0; j < d; j++) p[j] = DecayedAdamElement(p[j], m[j], v[j], g[j], a);
  }
}

class EsmmLazyAdamRowsOp : public OpKernel {
 public:
  explicit EsmmLazyAdamRowsOp(OpKernelConstruction* ctx) : OpKernel(ctx) { OP_REQUIRES_OK(ctx, ReadDecayedAdam(ctx, &a_)); }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& table = ctx->input(0);
    const Tensor& mv = ctx->input(1);
    const Tensor& ids = ctx->input(2);
    const Tensor& grads = ctx->input(3);
    OP_REQUIRES(ctx, table.dims() == 2 && mv.dims() == 2 && IdsShape(ids) && grads.dims() == 2,
                absl::InvalidArgumentError("EsmmLazyAdamRows: table [rows, dim], mv [rows, 2 dim], ids [U] or [U, 1], grads [U, dim]"));
    const int64_t rows = table.dim_size(0), d = table.dim_size(1), u_count = ids.dim_size(0);
    OP_REQUIRES(ctx, mv.dim_size(0) == rows && mv.dim_size(1) == 2 * d && grads.dim_size(0) == u_count && grads.dim_size(1) == d,
                absl::InvalidArgumentError("EsmmLazyAdamRows: table [rows, dim], mv [rows, 2 dim], ids [U] or [U, 1], grads [U, dim]"));
    const int32_t* id = ids.flat<int32_t>().data();
    OP_REQUIRES_OK(ctx, CheckIds("EsmmLazyAdamRows", id, u_count, rows));
    // Written in place: the buffers the caller owns (see above), as TensorFlow's InplaceUpdate does.
    LazyAdamRowsLoop(const_cast<float*>(table.flat<float>().data()), const_cast<float*>(mv.flat<float>().data()), id,
                     grads.flat<float>().data(), u_count, d, a_);
  }

 private:
  DecayedAdam a_;
};

REGISTER_KERNEL_BUILDER(Name("EsmmLazyAdamRows").Device(tensorflow::DEVICE_CPU), EsmmLazyAdamRowsOp);

// ---- EsmmBiasRelu: a dense layer's bias (and ReLU) after its product, in one pass -------------------------
// Replaces lib/models/fast-ops.ts' denseForward tail: TensorFlow's BiasAdd (a single model: z [B, O] + b [O])
// or Add (a seed group: z [S, B, O] + b [S, 1, O], each seed its own bias), then, when relu is set, TensorFlow's
// Relu. Per element out = z + b, and with relu out = (out <= 0) ? 0 : out: TensorFlow's Relu is Eigen's
// cwiseMax<PropagateNaN>(0) (relu_op_functor.h), which keeps NaN and turns -0 into +0, as this does. Output in
// a new buffer of z's shape. Throws InvalidArgument when b does not fit z.

REGISTER_OP("EsmmBiasRelu")
    .Input("z: float")
    .Input("b: float")
    .Output("out: float")
    .Attr("relu: bool")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(0));
      return absl::OkStatus();
    });

__attribute__((target_clones("avx512f", "avx2", "default"))) void BiasReluLoop(const float* __restrict z,
                                                                               const float* __restrict b,
                                                                               float* __restrict out, int64_t groups,
                                                                               int64_t rows, int64_t o, bool relu) {
  for (int64_t s = 0; s < groups; s++) {
    const float* bs = b + s * o;
    for (int64_t r = 0; r < rows; r++) {
      const int64_t base = (s * rows + r) * o;
      const float* zr = z + base;
      float* out_r = out + base;
      if (relu) {
        for (int64_t j = 0; j < o; j++) {
          const float x = zr[j] + bs[j];
          out_r[j] = x <= 0.0f ? 0.0f : x;
        }
      } else {
        for (int64_t j = 0; j < o; j++) out_r[j] = zr[j] + bs[j];
      }
    }
  }
}

class EsmmBiasReluOp : public OpKernel {
 public:
  explicit EsmmBiasReluOp(OpKernelConstruction* ctx) : OpKernel(ctx) { OP_REQUIRES_OK(ctx, ctx->GetAttr("relu", &relu_)); }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& z = ctx->input(0);
    const Tensor& b = ctx->input(1);
    const bool single = z.dims() == 2 && b.dims() == 1 && b.dim_size(0) == z.dim_size(1);
    const bool group = z.dims() == 3 && b.dims() == 3 && b.dim_size(0) == z.dim_size(0) && b.dim_size(1) == 1 &&
                       b.dim_size(2) == z.dim_size(2);
    OP_REQUIRES(ctx, single || group,
                absl::InvalidArgumentError("EsmmBiasRelu: z [B, O] with b [O], or z [S, B, O] with b [S, 1, O]"));
    const int64_t groups = single ? 1 : z.dim_size(0);
    const int64_t rows = single ? z.dim_size(0) : z.dim_size(1);
    const int64_t o = single ? z.dim_size(1) : z.dim_size(2);
    Tensor* out;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, z.shape(), &out));
    BiasReluLoop(z.flat<float>().data(), b.flat<float>().data(), out->flat<float>().data(), groups, rows, o, relu_);
  }

 private:
  bool relu_;
};

REGISTER_KERNEL_BUILDER(Name("EsmmBiasRelu").Device(tensorflow::DEVICE_CPU), EsmmBiasReluOp);

}  // namespace

// ---- the (empty) Node addon: Node looks this symbol up after dlopen --------------------------------------
extern "C" void* napi_register_module_v1(void* /*env*/, void* exports) { return exports; }
extern "C" int32_t node_api_module_get_api_version_v1() { return 8; }
