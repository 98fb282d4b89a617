/** 司机认证: drivers' taxi / ride-hailing applications, their images, approve / reject / revoke. */
import { http, requestBlob } from './http'
import type { components, paths } from './schema'

type Schemas = components['schemas']

export type Certification = Schemas['CertificationAdminOut']
export type CertificationFile = Schemas['CertificationFileAdminOut']
export type CertificationPage = Schemas['CertificationPage']
export type CertificationQuery = NonNullable<paths['/api/admin/v1/certifications']['get']['parameters']['query']>

export const listCertifications = (query: CertificationQuery = {}) =>
  http.get<CertificationPage>('/certifications', { ...query })
export const getCertification = (id: number) => http.get<Certification>(`/certifications/${id}`)
/** The image as a Blob: the route needs the bearer token, which an <img src> cannot send. */
export const certificationFile = (id: number, fileId: number, signal?: AbortSignal) =>
  requestBlob(`/certifications/${id}/files/${fileId}`, { silent: true, signal })
export const approveCertification = (id: number) =>
  http.post<Certification>(`/certifications/${id}/approve`, undefined, { silent: true })
export const rejectCertification = (id: number, reason: string) =>
  http.post<Certification>(`/certifications/${id}/reject`, { reason }, { silent: true })
export const revokeCertification = (id: number, reason: string) =>
  http.post<Certification>(`/certifications/${id}/revoke`, { reason }, { silent: true })
