//! blockgibbs-jit: the Cranelift backend. Every (block, update rule) of a lowered
//! [`Program`] becomes one fused native kernel over f32x4 lane groups (chains innermost), the
//! instruction-for-instruction mirror of the [`blockgibbs_compiler::ReferenceBackend`]: for
//! the same seed both backends produce bit-identical states.
//!
//! Setting `BLOCKGIBBS_JIT_DUMP` prints every kernel's Cranelift IR on stderr as it is
//! compiled (for profiling and for bug reports); `BLOCKGIBBS_JIT_DUMP=asm` prints the
//! machine code instead.

mod emit;
mod heads;
mod plan;
mod simd;
mod terms;
mod update;

use blockgibbs_compiler::{Backend, KernelError, LaneContext, StatePtr};
use blockgibbs_ir::{NodeKind, Program, UpdateRule};
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{AbiParam, UserFuncName};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module, default_libcall_names};
use emit::{KERNEL_GAUSSIAN_ERROR, KernelArgs};
use std::ops::Range;
use std::sync::Arc;
use thiserror::Error;

/// Why the JIT backend could not be built.
#[derive(Debug, Error)]
pub enum JitError {
    /// The host is not supported by Cranelift (or lacks SSE4.1).
    #[error("the JIT does not support this machine: {0}")]
    Unsupported(String),
    /// Cranelift rejected a kernel (a bug: please report it with the model).
    #[error("Cranelift failed to compile the kernel of block {block} ({rule:?}): {message}")]
    Codegen {
        /// The block.
        block: usize,
        /// The rule.
        rule: UpdateRule,
        /// Cranelift's message.
        message: String,
    },
}

type KernelFn = unsafe extern "C" fn(*mut KernelArgs) -> i32;

/// The finalized JIT module: owns the kernels' machine code, never mutated after
/// construction.
struct CodeOwner(#[allow(dead_code)] JITModule);

// SAFETY: after `finalize_definitions` the module is only kept alive so that its code pages
// stay mapped; it is never accessed again, and the kernels themselves are pure functions of
// their arguments.
unsafe impl Send for CodeOwner {}
// SAFETY: as above; there is no shared mutable state.
unsafe impl Sync for CodeOwner {}

/// The kernels of one block: per update rule (`None` where the rule is undefined for the
/// block's kind), the lane kernel and the one-chain kernel (four heads in the lanes of one
/// vector).
#[derive(Clone, Copy)]
struct BlockKernels {
    lanes: [Option<KernelFn>; 3],
    one_chain: [Option<KernelFn>; 3],
}

/// Native kernels for every block and update rule of a program.
///
/// Groups whose terms all share one weight sub-tensor have it folded into constants. Weights
/// are live data (see [`LaneContext::weights`]), so every block with a folded group also gets
/// general kernels that load every weight; [`Backend::specialisations`] says which runs.
pub struct JitBackend {
    program: Arc<Program>,
    /// Per block, the kernels specialised on the compiled weights.
    specialised: Vec<BlockKernels>,
    /// Per block with folded groups, the kernels that load every weight.
    general: Vec<Option<BlockKernels>>,
    /// Per block, what its specialised kernels folded.
    folds: Vec<Vec<plan::FoldCheck>>,
    _code: CodeOwner,
}

impl std::fmt::Debug for JitBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitBackend")
            .field("blocks", &self.specialised.len())
            .finish()
    }
}

fn rule_index(rule: UpdateRule) -> usize {
    match rule {
        UpdateRule::Sample => 0,
        UpdateRule::Mean => 1,
        UpdateRule::Mode => 2,
    }
}

/// Whether this machine can run the JIT (x86-64 with SSE4.1, or AArch64).
pub fn is_supported() -> bool {
    host_isa().is_ok()
}

fn host_isa() -> Result<Arc<dyn cranelift_codegen::isa::TargetIsa>, JitError> {
    #[cfg(target_arch = "x86_64")]
    if !std::arch::is_x86_feature_detected!("sse4.1") {
        return Err(JitError::Unsupported("SSE4.1 is required".into()));
    }
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| {
        f.set(k, v)
            .map_err(|e| JitError::Unsupported(e.to_string()))
    };
    set(&mut flags, "use_colocated_libcalls", "false")?;
    set(&mut flags, "is_pic", "false")?;
    // Measured (see BENCHMARKS.md): "none" beats "speed" on these f32x4 kernels.
    set(&mut flags, "opt_level", "none")?;
    let isa = cranelift_native::builder().map_err(|e| JitError::Unsupported(e.to_string()))?;
    isa.finish(settings::Flags::new(flags))
        .map_err(|e| JitError::Unsupported(e.to_string()))
}

/// Declared kernel ids of one block: `[variant][rule]`, variant 0 the lane kernel and 1 the
/// one-chain kernel.
type BlockIds = [[Option<FuncId>; 3]; 2];

/// Emits the kernels of one block under `plans` into `module`.
fn declare_block(
    module: &mut JITModule,
    ctx: &mut cranelift_codegen::Context,
    fctx: &mut FunctionBuilderContext,
    program: &Program,
    bi: usize,
    plans: &[plan::GroupPlan],
    tag: &str,
) -> Result<BlockIds, JitError> {
    let block = &program.blocks[bi];
    let mut sig = module.make_signature();
    sig.params.push(AbiParam::new(I64));
    sig.returns.push(AbiParam::new(I32));
    let frontend = module.target_config();
    let mut ids: BlockIds = [[None; 3]; 2];
    for rule in [UpdateRule::Sample, UpdateRule::Mean, UpdateRule::Mode] {
        if rule == UpdateRule::Mean && matches!(block.kind, NodeKind::Categorical(_)) {
            continue;
        }
        let codegen = |message: String| JitError::Codegen {
            block: bi,
            rule,
            message,
        };
        for (variant, row) in ids.iter_mut().enumerate() {
            let name = format!("block{bi}_{rule:?}{tag}{}", ["", "_one_chain"][variant]);
            let id = module
                .declare_function(&name, Linkage::Local, &sig)
                .map_err(|e| codegen(e.to_string()))?;
            ctx.func.signature = sig.clone();
            ctx.func.name = UserFuncName::user(0, id.as_u32());
            {
                let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
                if variant == 0 {
                    emit::emit_kernel(&mut b, block, plans, rule);
                } else {
                    heads::emit_head_kernel(&mut b, block, plans, rule);
                }
                b.finalize(frontend);
            }
            let dump = std::env::var("BLOCKGIBBS_JIT_DUMP").ok();
            match dump.as_deref() {
                Some("asm") => ctx.set_disasm(true),
                Some(_) => eprintln!("== {name}\n{}", ctx.func.display()),
                None => {}
            }
            module
                .define_function(id, ctx)
                .map_err(|e| codegen(format!("{e:?}")))?;
            if let (Some("asm"), Some(code)) = (dump.as_deref(), ctx.compiled_code()) {
                let text = code.vcode.as_deref().unwrap_or("");
                eprintln!("== {name}\n{text}");
            }
            module.clear_context(ctx);
            row[rule_index(rule)] = Some(id);
        }
    }
    Ok(ids)
}

impl JitBackend {
    /// Compiles every block of `program` under every update rule its kind supports.
    pub fn new(program: Arc<Program>) -> Result<JitBackend, JitError> {
        let isa = host_isa()?;
        let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let mut ctx = module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        let mut ids = Vec::new();
        let mut folds = Vec::new();
        for (bi, block) in program.blocks.iter().enumerate() {
            let plans = plan::block_plans(&program, block);
            let specialised =
                declare_block(&mut module, &mut ctx, &mut fctx, &program, bi, &plans, "")?;
            let checks = plan::fold_checks(block, &plans);
            let general = if checks.is_empty() {
                None
            } else {
                let loaded = plan::without_folding(&plans);
                Some(declare_block(
                    &mut module,
                    &mut ctx,
                    &mut fctx,
                    &program,
                    bi,
                    &loaded,
                    "_general",
                )?)
            };
            ids.push((specialised, general));
            folds.push(checks);
        }
        module
            .finalize_definitions()
            .map_err(|e| JitError::Unsupported(e.to_string()))?;
        let resolve = |ids: &BlockIds| {
            let f = |id: Option<FuncId>| {
                id.map(|id| {
                    let ptr = module.get_finalized_function(id);
                    // SAFETY: the function was emitted with exactly this signature.
                    unsafe { std::mem::transmute::<*const u8, KernelFn>(ptr) }
                })
            };
            BlockKernels {
                lanes: ids[0].map(f),
                one_chain: ids[1].map(f),
            }
        };
        let specialised = ids.iter().map(|(s, _)| resolve(s)).collect();
        let general = ids.iter().map(|(_, g)| g.as_ref().map(resolve)).collect();
        Ok(JitBackend {
            program,
            specialised,
            general,
            folds,
            _code: CodeOwner(module),
        })
    }
}

impl Backend for JitBackend {
    fn name(&self) -> &'static str {
        "jit"
    }

    fn program(&self) -> &Arc<Program> {
        &self.program
    }

    fn specialisations(&self, weights: &[f32]) -> Vec<bool> {
        self.folds
            .iter()
            .zip(&self.program.blocks)
            .map(|(checks, block)| {
                checks
                    .iter()
                    .all(|c| c.holds(&self.program, block, weights))
            })
            .collect()
    }

    unsafe fn update_heads(
        &self,
        block: usize,
        rule: UpdateRule,
        heads: Range<u32>,
        state: StatePtr,
        snapshot: Option<StatePtr>,
        ctx: &LaneContext,
    ) -> Result<(), KernelError> {
        let kind = self.program.blocks[block].kind;
        let kernels = match &self.general[block] {
            Some(general) if !ctx.specialised[block] => general,
            _ => &self.specialised[block],
        };
        let kernel =
            kernels.lanes[rule_index(rule)].ok_or(KernelError::UnsupportedRule { kind, rule })?;
        // One chain in a buffer of four lanes: vectorise across heads instead of lanes.
        let one_chain = (ctx.chains == 1 && ctx.lanes == 4)
            .then(|| kernels.one_chain[rule_index(rule)])
            .flatten();
        let heads = heads.start.min(heads.end)..heads.end.min(self.program.blocks[block].len);
        // `chain · CHAIN_MUL` per lane, on the stack for the runtime's chunk sizes.
        let mut on_stack = [0u32; 64];
        let mut on_heap = Vec::new();
        let chain_muls: &mut [u32] = if ctx.lanes <= on_stack.len() {
            &mut on_stack[..ctx.lanes]
        } else {
            on_heap.resize(ctx.lanes, 0);
            &mut on_heap
        };
        for (l, m) in chain_muls.iter_mut().enumerate() {
            *m = ctx
                .first_chain
                .wrapping_add(l as u32)
                .wrapping_mul(blockgibbs_compiler::random::CHAIN_MUL);
        }
        let mut args = KernelArgs {
            state: state.ptr as usize,
            src: snapshot.map_or(state.ptr as usize, |s| s.ptr as usize),
            betas: ctx.betas.as_ptr() as usize,
            chain_muls: chain_muls.as_ptr() as usize,
            lanes: ctx.lanes as u64,
            head_start: heads.start as u64,
            head_end: heads.end as u64,
            sweep_key: blockgibbs_compiler::random::sweep_key(ctx.key, ctx.sweep),
            weights: ctx.weights.as_ptr() as usize,
            ..Default::default()
        };
        // SAFETY (both kernels): the caller guarantees the buffers cover every slot and lane
        // the kernel touches and that no one else writes the heads of `heads`; the program
        // tables the kernel reads are owned by `self.program`, the weights by the caller.
        let mut code = match one_chain {
            // SAFETY: as above.
            Some(k) => unsafe { k(&mut args) },
            // SAFETY: as above.
            None => unsafe { kernel(&mut args) },
        };
        if code == KERNEL_GAUSSIAN_ERROR && one_chain.is_some() {
            // Locate the failure with the lane kernel: it recomputes the same values for
            // the heads already written (heads never read each other) and stops at the
            // first bad head and lane, exactly as the reference does.
            // SAFETY: as above.
            code = unsafe { kernel(&mut args) };
        }
        if code != KERNEL_GAUSSIAN_ERROR {
            return Ok(());
        }
        // Report the first failing lane, precision before value, as the reference does.
        for l in 0..4 {
            let lane = args.err_lane as usize + l;
            if args.err_precision_mask[l] == 0 {
                return Err(KernelError::NonPositivePrecision {
                    slot: args.err_slot,
                    lane,
                    precision: args.err_precision[l],
                });
            }
            if args.err_value_mask[l] == 0 {
                return Err(KernelError::NonFinite {
                    slot: args.err_slot,
                    lane,
                    value: args.err_value[l],
                });
            }
        }
        Ok(())
    }
}
