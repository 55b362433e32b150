#!/usr/bin/env bash
# Checks the references to docs/nvcf-contract.md: every `docs/nvcf-contract.md#<anchor>` in the repository's files,
# and every `(#<anchor>)` and `(../README.md#<anchor>)` link inside the document, must name a heading that exists
# (anchors as GitHub makes them: lower case, punctuation dropped, spaces as '-', '-1', '-2'... for repeats). Also
# fails on a leftover numbered section reference (a section sign followed by a number), which pointed into a document
# the repository does not have; references to RFC sections ('RFC' and its number, then the section) are fine.
#
# Usage: eng/check-contract-links.sh
# Exit status: 0 when every reference resolves, 1 otherwise (each bad reference is printed as file:line: reference).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

contract=docs/nvcf-contract.md

# The anchors of a Markdown file's headings, one per line (headings inside ``` fences are not headings).
anchors_of() { # FILE
    awk '
        /^```/ { fenced = !fenced; next }
        fenced || !/^#+ / { next }
        {
            text = $0
            sub(/^#+ +/, "", text)
            text = tolower(text)
            gsub(/[^a-z0-9 _-]/, "", text)
            gsub(/ /, "-", text)
            anchor = (seen[text] > 0) ? text "-" seen[text] : text
            seen[text]++
            print anchor
        }
    ' "$1"
}

[[ -f $contract ]] || { echo "check-contract-links: $contract is missing" >&2; exit 1; }
contract_anchors=$(anchors_of "$contract")
readme_anchors=$(anchors_of README.md)

has() { # ANCHORS ANCHOR
    grep -qxF -- "$2" <<<"$1"
}

failures=0
checked=0
fail() { # WHERE REFERENCE WHY
    echo "$1: $2 ($3)" >&2
    failures=$((failures + 1))
}

# Tracked files and new ones that git does not ignore (so no bin/ or obj/), text only.
mapfile -t files < <(git ls-files --cached --others --exclude-standard | grep -vE '\.(png|jpg|jpeg|gif|ico|zip|gz|xz)$' || true)
existing=()
for file in "${files[@]}"; do
    [[ -f $file ]] && existing+=("$file")
done

# 1. docs/nvcf-contract.md#<anchor> anywhere in the repository.
while IFS= read -r hit; do
    [[ -n $hit ]] || continue
    where=${hit%:*}
    anchor=${hit##*#}
    checked=$((checked + 1))
    has "$contract_anchors" "$anchor" || fail "$where" "$contract#$anchor" "no such heading in $contract"
done < <(grep -noE "docs/nvcf-contract\.md#[A-Za-z0-9_-]+" "${existing[@]}" /dev/null || true)

# 2. Links inside the document: to its own headings, and to README.md's.
while IFS= read -r hit; do
    [[ -n $hit ]] || continue
    where="$contract:${hit%%:*}"
    link=${hit#*:}
    link=${link#](}
    link=${link%)}
    anchor=${link##*#}
    checked=$((checked + 1))
    case $link in
        \#*) has "$contract_anchors" "$anchor" || fail "$where" "$link" "no such heading in $contract" ;;
        ../README.md\#*) has "$readme_anchors" "$anchor" || fail "$where" "$link" "no such heading in README.md" ;;
    esac
done < <(grep -noE '\]\((\.\./README\.md)?#[A-Za-z0-9_-]+\)' "$contract" || true)

# 3. Numbered section references left from before the document existed.
while IFS= read -r hit; do
    [[ -n $hit ]] || continue
    fail "${hit%%:*}:$(cut -d: -f2 <<<"$hit")" "$(grep -oE '§ ?[0-9][0-9.]*' <<<"${hit#*:*:}" | head -n 1)" \
        "a section number of a document not in this repository: cite $contract#<anchor>"
done < <(grep -nE '§ ?[0-9]' "${existing[@]}" /dev/null | grep -vE 'RFC [0-9]+ §' || true)

if ((failures > 0)); then
    echo "check-contract-links: $failures bad reference(s) of $checked checked" >&2
    exit 1
fi
echo "check-contract-links: $checked references to $contract checked, all resolve ($(wc -l <<<"$contract_anchors") headings)"
