/**
 * Whose a file is, for files whose contents dom0 acts on as root's own. Pure: the caller gives
 * what fstat said of the file it opened (so what is judged is what is read).
 */

/**
 * Why another user may have written the file `st` is of: it is neither root's nor this process's
 * user's, or its group or everyone may write it; undefined when only root or this user can have
 * written it.
 */
export function othersMayWrite(st: { readonly uid: number; readonly mode: number }): string | undefined {
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== uid) return `it belongs to uid ${st.uid}`;
  if ((st.mode & 0o022) !== 0) return `it is writable by ${(st.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/**
 * The hint of a save file `othersMayWrite` refuses: the domain config it holds names programs
 * (device_model, scripts) and host files QEMU is given, and its state stream is QEMU's to trust.
 */
export const SAVE_FILE_OWNER_HINT = "a save file holds its domain's config, which dom0 acts on as root: restore a file only root could have written (chown root FILE; chmod go-w FILE), or root's copy of it";
