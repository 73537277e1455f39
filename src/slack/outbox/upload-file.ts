/** A file to attach to a thread (what did not fit in a message). */
export interface UploadFile {
  filename: string;
  title: string;
  content: string | Buffer;
  initialComment?: string;
}
