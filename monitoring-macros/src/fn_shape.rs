//! The shape of an annotated function, as both validation and expansion read it: the
//! body of a function written the way `#[async_trait]` expands `async fn`s, and its
//! return type as a `let` can name it.

use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ExprAsync, Stmt, Type};

/// The `async move { .. }` block of a function written the way `#[async_trait]`
/// expands `async fn`s: a plain `fn` whose body ends in `Box::pin(async move { .. })`.
pub(crate) fn async_trait_block(block: &mut Block) -> Option<&mut ExprAsync> {
    let Some(Stmt::Expr(Expr::Call(call), None)) = block.stmts.last_mut() else {
        return None;
    };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    if path.path.segments.last()?.ident != "pin" || call.args.len() != 1 {
        return None;
    }
    match call.args.first_mut()? {
        Expr::Async(block) => Some(block),
        _ => None,
    }
}

/// `ty` with every `impl Trait` in it replaced by `_`: the type a `let` can be
/// annotated with, so that `Result<impl Trait, E>` still tells inference (`?`) what
/// `E` is, as tracing-attributes does.
pub(crate) fn nameable(ty: &Type) -> Type {
    struct Erase;
    impl VisitMut for Erase {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                *ty = Type::Infer(syn::TypeInfer {
                    underscore_token: syn::Token![_](syn::spanned::Spanned::span(impl_trait)),
                });
                return;
            }
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
    let mut ty = ty.clone();
    Erase.visit_type_mut(&mut ty);
    ty
}

/// True when `tokens` hold a function's `fn` keyword at their top level: an item that
/// is a function, whatever its body holds (for a body that does not parse yet, rustc's
/// own error is the one to show).
pub(crate) fn is_fn_item(tokens: &proc_macro2::TokenStream) -> bool {
    tokens
        .clone()
        .into_iter()
        .any(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == "fn"))
}
